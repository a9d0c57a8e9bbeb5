//! `legitka demo --cards N --out DIR`: a whole station on one machine with
//! nothing installed. An embedded broker, the printer simulator on a
//! pseudo-terminal, the station, and a stand-in central system that sends N
//! orders and writes back everything the station reported.

use anyhow::{bail, Context};
use legitka::card::sample;
use legitka::records::store::Store;
use legitka::runtime::central::{count, Central};
use legitka::runtime::{broker, shutdown, station};
use legitka::settings::Settings;
use legitka_sim::{spawn_pty, SimConfig, SimHandle, SimPrinter};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// How many cards to order and print.
    #[arg(long, default_value_t = 20)]
    cards: usize,
    /// Where the printed cards, the register and the events go.
    #[arg(long, default_value = "demo-out")]
    out: PathBuf,
    /// Seconds the simulated printer takes per card (0 = instant).
    #[arg(long, default_value_t = 0.0)]
    card_seconds: f64,
    /// Also serve the operator's web page here (e.g. 127.0.0.1:8080) with
    /// an account `sekretariat` (administrator; its password is printed),
    /// and keep the station running after the cards until Ctrl-C.
    #[arg(long)]
    web: Option<String>,
    /// Print on this printer instead of the simulator: an IPP printer or
    /// CUPS queue (`ipp://127.0.0.1:8631/ipp/print`, `cups:Magicard`), with
    /// `--profile` (README, "Printers of other makes").
    #[arg(long)]
    printer: Option<String>,
    /// The printer profile for `--printer`.
    #[arg(long, default_value = "ipp-everywhere", requires = "printer")]
    profile: String,
}

const STATION: &str = "demo-sekretariat";

pub async fn run(a: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let cards_dir = a.out.join("cards");
    let data_dir = a.out.join("station");
    // A fresh run: old cards and an old database would mix with this one.
    for d in [&cards_dir, &data_dir] {
        if d.exists() {
            std::fs::remove_dir_all(d).with_context(|| format!("clearing {}", d.display()))?;
        }
    }
    std::fs::create_dir_all(&cards_dir)?;
    let port = broker::start_embedded().context("starting the embedded MQTT broker")?;
    // Stocked for the whole run: a demo of 1,000 cards is not a demo of an
    // empty feeder.
    let stock = u32::try_from(a.cards).unwrap_or(u32::MAX).max(100);
    let sim = SimHandle::new(SimPrinter::new(SimConfig {
        card_time: Duration::from_secs_f64(a.card_seconds),
        out_dir: Some(cards_dir.clone()),
        feeder_cards: stock,
        ribbon_capacity: stock,
        ..SimConfig::default()
    }));
    let pty = spawn_pty(sim.clone(), Arc::new(AtomicBool::new(false)))
        .context("starting the simulator")?;
    eprintln!("broker on 127.0.0.1:{port}, printer simulator on {pty}");
    let mut settings = Settings::local(
        STATION,
        &data_dir,
        &format!("mqtt://127.0.0.1:{port}"),
        "legitymacje/v1",
        &format!("serial:{pty}"),
    );
    settings.printer.operator = Some("demo".into());
    let external = a.printer.is_some();
    if let Some(uri) = &a.printer {
        settings.printer.uri = uri.clone();
        settings.printer.profile = a.profile.clone();
        eprintln!(
            "printing on {uri} (profile {}), not on the simulator",
            a.profile
        );
    }
    let web_password = match &a.web {
        Some(listen) => {
            settings.http.listen = listen.clone();
            Some(demo_account(&settings).await?)
        }
        None => None,
    };
    let (trigger, stop) = shutdown::channel();
    let station = tokio::spawn(station::run(settings.clone(), stop));
    let mut central = Central::connect(
        "127.0.0.1",
        port,
        &settings.mqtt.prefix,
        &settings.school,
        STATION,
    )
    .await;
    // Its state comes after its subscriptions: from then on no order is missed.
    if central
        .wait_state(Duration::from_secs(30), |s| s["online"] == true)
        .await
        .is_none()
    {
        bail!("the station did not come online");
    }
    let orders: Vec<_> = (0..a.cards).map(sample::order).collect();
    for o in &orders {
        central.send_order(o).await;
    }
    let ids: Vec<String> = orders
        .iter()
        .map(|o| o["order_id"].as_str().unwrap_or_default().to_string())
        .collect();
    let finished = |events: &[serde_json::Value]| {
        ids.iter().all(|id| {
            events.iter().any(|e| {
                e["order_id"] == id.as_str()
                    && matches!(
                        e["type"].as_str(),
                        Some("card.printed" | "order.rejected" | "order.held")
                    )
            })
        })
    };
    // Half a second a card for the bytes over the pseudo-terminal, besides
    // the printer's own time: a demo of 1,000 cards must not time out.
    let budget = Duration::from_secs_f64(60.0 + a.cards as f64 * (a.card_seconds * 1.5 + 0.5));
    let complete = central.wait_events(budget, finished).await;
    if let (Some(listen), Some(password)) = (&a.web, &web_password) {
        println!("web page: http://{listen}/  login: sekretariat  password: {password}");
        println!("the station keeps running; Ctrl-C stops it");
        let (web_trigger, mut web_stop) = shutdown::channel();
        shutdown::on_signals(web_trigger);
        web_stop.wait().await;
    }
    trigger.fire();
    station.await??;
    if !external && !sim.wait_images_written(Duration::from_secs(60)) {
        bail!("the simulator did not write every card's image");
    }

    let mut events = std::fs::File::create(a.out.join("events.jsonl"))?;
    for e in &central.seen {
        writeln!(events, "{e}")?;
    }
    let store = Store::open(&settings.db_path(), STATION).await?;
    super::write_private(
        &a.out.join("register.csv"),
        store.register_csv().await?.as_bytes(),
    )?;
    let register = store.register().await?;
    for (n, o) in orders.iter().enumerate() {
        let id = o["order_id"].as_str().unwrap_or_default();
        let outcome = central
            .seen
            .iter()
            .rev()
            .find(|e| e["order_id"] == id && e["type"] != "order.accepted")
            .map(|e| match e["type"].as_str() {
                Some("card.printed") => "printed".to_string(),
                Some(t) => format!("{t} ({})", e["code"].as_str().unwrap_or("")),
                None => "?".into(),
            })
            .unwrap_or_else(|| "no answer".into());
        let png = register
            .iter()
            .position(|r| r.order_id == id)
            .filter(|_| !external)
            .map(|i| format!("cards/card-{:05}.png", i + 1))
            .unwrap_or_default();
        let name = format!(
            "{} {}",
            o["student"]["first_names"].as_str().unwrap_or(""),
            o["student"]["last_name"].as_str().unwrap_or("")
        );
        println!(
            "{:>3}/{} card {:<9} {:<40} {:<10} {}",
            n + 1,
            a.cards,
            o["card"]["number"].as_str().unwrap_or(""),
            name,
            outcome,
            png
        );
    }
    let printed = count(&central.seen, "card.printed");
    if external {
        println!(
            "total: {printed} of {} cards printed, {} rejected, {} held, in {:.1} s; see {}",
            a.cards,
            count(&central.seen, "order.rejected"),
            count(&central.seen, "order.held"),
            started.elapsed().as_secs_f64(),
            a.out.display()
        );
        if !complete || printed != a.cards {
            bail!("the demo did not print every card");
        }
        return Ok(());
    }
    let mut gaps = sim.with(|p| p.idle_gaps());
    gaps.sort();
    if let (Some(median), Some(max)) = (gaps.get(gaps.len() / 2), gaps.last()) {
        println!(
            "printer idle between cards: median {} ms, longest {} ms ({} gaps, simulator's clock)",
            median.as_millis(),
            max.as_millis(),
            gaps.len()
        );
    }
    // Panel data received by the printer a card (the frames' headers are a
    // few dozen bytes more): what the wire carries.
    let mut bytes: Vec<usize> = sim.with(|p| p.printed().iter().map(|c| c.bytes).collect());
    bytes.sort_unstable();
    if let (Some(median), Some(max)) = (bytes.get(bytes.len() / 2), bytes.last()) {
        println!(
            "bytes on the wire a card: median {median}, largest {max} ({:.2} s at USB full speed's 1.2 MB/s)",
            *median as f64 / 1.2e6
        );
    }
    println!(
        "total: {printed} of {} cards printed, {} rejected, {} held, {} in the simulator, in {:.1} s; see {}",
        a.cards,
        count(&central.seen, "order.rejected"),
        count(&central.seen, "order.held"),
        sim.printed_count(),
        started.elapsed().as_secs_f64(),
        a.out.display()
    );
    if !complete || printed != a.cards || sim.printed_count() != a.cards {
        bail!("the demo did not print every card");
    }
    Ok(())
}

/// The demo's administrator account, with a new random password.
async fn demo_account(settings: &Settings) -> anyhow::Result<String> {
    use legitka::records::account::{self, Role};
    let store = Store::open(&settings.db_path(), STATION).await?;
    let (token, _) = account::new_token();
    let password = token[..16].to_string();
    let p = password.clone();
    let hash = tokio::task::spawn_blocking(move || account::hash_password(&p)).await?;
    store
        .add_user(
            "sekretariat",
            "Sekretariat (demo)",
            Role::Admin,
            &hash,
            &legitka::records::actor::Actor::named("demo", legitka::records::actor::Via::Cli),
        )
        .await?;
    Ok(password)
}
