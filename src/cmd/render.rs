//! `legitka render ORDER.json --out DIR`: the card as it will print, without
//! a printer: preview, each panel, and a true-scale PDF proof.

use anyhow::{bail, Context};
use legitka::card::message::{self, Inbound, TrustedKeys};
use legitka::card::profile::Profiles;
use legitka::card::render::Renderer;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// A `card.order` message as JSON.
    order: PathBuf,
    #[arg(long)]
    out: PathBuf,
    /// Printer profile (its resolution and ribbon decide the panels).
    #[arg(long, default_value = "evolis-primacy-2")]
    printer: String,
    /// The school the order must be for; by default the order's own.
    #[arg(long)]
    school: Option<String>,
    /// Profiles directory; the built-in set by default.
    #[arg(long)]
    profiles: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let raw = std::fs::read(&a.order).with_context(|| format!("reading {}", a.order.display()))?;
    let msg = match message::parse(&raw, &TrustedKeys::default()) {
        Ok(Inbound::Order(m)) => m,
        Ok(_) => bail!("{} is not a card.order", a.order.display()),
        Err((_, r)) => bail!("order rejected: {} ({})", r.message, r.code),
    };
    let profiles = match &a.profiles {
        Some(d) => Profiles::load_dir(d)?,
        None => Profiles::builtin(),
    };
    let printer = profiles.printer(&a.printer)?.clone();
    let renderer = Renderer::new(profiles, printer);
    let school = a.school.unwrap_or_else(|| msg.school.rspo.clone());
    let order = legitka::runtime::ingest::check(&msg, &renderer, &school)
        .map_err(|r| anyhow::anyhow!("order rejected: {} ({})", r.message, r.code))?;
    let card = renderer.render(&order.data, &order.photo)?;
    std::fs::create_dir_all(&a.out)?;
    super::save_png_private(&renderer.preview(&card)?, &a.out.join("front.png"))?;
    if let Some(c) = &card.panels.colour {
        super::save_png_private(c, &a.out.join("panel-colour.png"))?;
    }
    if let Some(k) = &card.panels.black {
        super::save_png_private(&k.to_gray(), &a.out.join("panel-black.png"))?;
    }
    if let Some(o) = &card.panels.overlay {
        super::save_png_private(&o.to_gray(), &a.out.join("panel-overlay.png"))?;
    }
    let pdf = renderer
        .proof_pdf(&card, &format!("Legitymacja {}", order.data.card_number))
        .map_err(|e| anyhow::anyhow!("proof: {e}"))?;
    super::write_private(&a.out.join("proof.pdf"), &pdf)?;
    for w in &card.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "rendered card {} into {}",
        order.data.card_number,
        a.out.display()
    );
    Ok(())
}
