//! `legitka-sim`: the simulated card printer as a program of its own.

use anyhow::Context;
use clap::Parser;
use legitka_sim::{spawn_pty, SimConfig, SimHandle, SimPrinter, Stack, TcpListenerLink};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    version,
    about = "A software Evolis-class card printer on a pty or TCP port"
)]
struct Args {
    /// Listen on TCP (e.g. 127.0.0.1:9100) instead of a pseudo-terminal.
    #[arg(long)]
    tcp: Option<String>,
    /// Write each printed card here as PNG (card and panels).
    #[arg(long, default_value = "sim-out")]
    out: PathBuf,
    /// Seconds one card takes; 0 prints instantly.
    #[arg(long, default_value_t = 0.0)]
    card_seconds: f64,
    /// Card image width and height in pixels (from the printer profile).
    #[arg(long, default_value_t = 1016)]
    width: u32,
    #[arg(long, default_value_t = 648)]
    height: u32,
    /// Plain white cards in the feeder (100 unless --blanks is given).
    #[arg(long)]
    feeder: Option<u32>,
    /// A stack of numbered blanks in the feeder, PATTERN:FIRST:COUNT (e.g.
    /// MEiN-I/1:000101:20); repeatable, fed in the order given, after the
    /// plain cards. Every card taken is written to OUT/feeder.jsonl.
    #[arg(long = "blanks")]
    blanks: Vec<Stack>,
    /// Take the technician's commands (load, unload, fault, clear, status)
    /// as lines on this TCP address, e.g. 127.0.0.1:9101.
    #[arg(long)]
    control: Option<String>,
    /// Seconds a started job may go without a word before its card is
    /// pushed out unfinished.
    #[arg(long, default_value_t = 30.0)]
    job_timeout: f64,
    /// Panels left on the ribbon.
    #[arg(long, default_value_t = 300)]
    ribbon: u32,
    /// Seconds each panel adds to a card (YMCKO: five panels).
    #[arg(long, default_value_t = 0.0)]
    panel_seconds: f64,
    /// Faults, repeatable: jam@N, cover@N, ribbon@N (the Nth card fails that
    /// way), unplug@N:SECONDS (off the line during the Nth card's job),
    /// reply@N:COMMAND[:TEXT] (during the Nth card's job, the first reply to
    /// COMMAND, e.g. Se, Sr, Db, Rlr;p, is line noise or TEXT; the printer goes
    /// on as if it had answered normally).
    #[arg(long = "fault")]
    faults: Vec<String>,
    /// Line noise before every Nth reply.
    #[arg(long)]
    garbage_every: Option<u32>,
    /// Milliseconds every reply is late.
    #[arg(long, default_value_t = 0)]
    reply_delay_ms: u64,
}

fn main() -> anyhow::Result<()> {
    // The cards it writes carry photos and PESELs: the user's own only.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut printer = SimPrinter::new(SimConfig {
        width: args.width,
        height: args.height,
        ribbon_capacity: args.ribbon,
        feeder_cards: args
            .feeder
            .unwrap_or(if args.blanks.is_empty() { 100 } else { 0 }),
        blanks: args.blanks.clone(),
        job_timeout: Duration::from_secs_f64(args.job_timeout.max(0.1)),
        card_time: Duration::from_secs_f64(args.card_seconds.max(0.0)),
        panel_time: Duration::from_secs_f64(args.panel_seconds.max(0.0)),
        out_dir: Some(args.out.clone()),
        // It runs for hours: every card is on disk, a few in memory.
        keep_printed: Some(legitka_sim::KEEP_PRINTED),
        ..SimConfig::default()
    });
    for f in &args.faults {
        printer.faults.add(f).map_err(anyhow::Error::msg)?;
    }
    printer.faults.garbage_every = args.garbage_every;
    printer.faults.reply_delay = Duration::from_millis(args.reply_delay_ms);
    let sim = SimHandle::new(printer);
    if let Some(addr) = &args.control {
        let bound = legitka_sim::control::listen(addr, sim.clone())
            .with_context(|| format!("binding the control port {addr}"))?;
        eprintln!("control: {bound} (load PATTERN FIRST COUNT, unload, fault KIND, clear, status)");
    }
    let stop = Arc::new(AtomicBool::new(false));
    match args.tcp {
        Some(addr) => {
            let l = TcpListenerLink::bind(&addr).with_context(|| format!("binding {addr}"))?;
            println!("tcp://{}", l.local_addr()?);
            l.run(sim, stop)?;
        }
        None => {
            let path = spawn_pty(sim, stop).context("opening a pseudo-terminal")?;
            println!("serial:{path}");
            // The line lives in its own thread; this one only keeps the process.
            loop {
                std::thread::park();
            }
        }
    }
    Ok(())
}
