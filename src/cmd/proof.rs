//! `legitka proof --orders DIR --out FILE.pdf`: a class's cards on A4 at true
//! scale with crop marks, to check before printing on blanks. `--queued`
//! proofs what a station's queue holds instead.

use anyhow::{bail, Context};
use legitka::card::message::{self, Inbound, TrustedKeys};
use legitka::card::profile::Profiles;
use legitka::card::render::Renderer;
use legitka::records::store::Store;
use legitka::settings::Settings;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// A directory of card.order JSON files.
    #[arg(long, conflicts_with = "queued")]
    orders: Option<PathBuf>,
    /// The cards waiting in the station's queue (needs --config).
    #[arg(long, requires = "config")]
    queued: bool,
    #[arg(long, short)]
    config: Option<PathBuf>,
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value = "evolis-primacy-2")]
    printer: String,
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    let profiles = Profiles::builtin();
    let printer = profiles.printer(&a.printer)?.clone();
    let renderer = Renderer::new(profiles, printer);
    let mut cards = Vec::new();
    if let Some(dir) = &a.orders {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for f in files {
            let raw = std::fs::read(&f)?;
            let msg = match message::parse(&raw, &TrustedKeys::default()) {
                Ok(Inbound::Order(m)) => m,
                Ok(_) => continue,
                Err((_, r)) => bail!("{}: {} ({})", f.display(), r.message, r.code),
            };
            let school = msg.school.rspo.clone();
            let order = legitka::runtime::ingest::check(&msg, &renderer, &school)
                .map_err(|r| anyhow::anyhow!("{}: {} ({})", f.display(), r.message, r.code))?;
            cards.push(renderer.render(&order.data, &order.photo)?);
        }
    } else if a.queued {
        let s = Settings::load(a.config.as_deref())?;
        let store = Store::open(&s.db_path(), &s.station).await?;
        for q in store.queued_cards().await? {
            cards.push(renderer.render(&q.data, &q.photo)?);
        }
    } else {
        bail!("say which cards: --orders DIR or --queued --config FILE");
    }
    let pdf = renderer
        .batch_proof_pdf(&cards, "Legitymacje: proof")
        .map_err(|e| anyhow::anyhow!(e))?;
    super::write_private(&a.out, &pdf)?;
    println!(
        "{} card(s) on {} A4 page(s) in {}",
        cards.len(),
        cards
            .len()
            .div_ceil(legitka::card::render::Renderer::a4_slots().len()),
        a.out.display()
    );
    Ok(())
}
