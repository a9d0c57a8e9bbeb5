//! `legitka daemon --config FILE`

use legitka::runtime::{shutdown, station};
use legitka::settings::Settings;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The TOML configuration (see config/legitka.toml).
    #[arg(long, short)]
    config: Option<PathBuf>,
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    // The database, logs and any card image hold children's data: nothing
    // the station creates is for other users, whatever the unit says.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let settings = match Settings::load(a.config.as_deref()) {
        Ok(s) => s,
        Err(e) => config_error(&e),
    };
    let (trigger, stop) = shutdown::channel();
    shutdown::on_signals(trigger);
    match station::run(settings, stop).await {
        Err(e) if e.is_config() => config_error(&e),
        r => Ok(r?),
    }
}

/// A configuration the station cannot run with ends it with EX_CONFIG (78),
/// which the unit's `RestartPreventExitStatus=` keeps from restarting in a
/// loop: only an edit of the file can mend it.
fn config_error(e: &dyn std::fmt::Display) -> ! {
    tracing::error!(error = %e, "the configuration is not usable");
    eprintln!("legitka: {e}");
    std::process::exit(78)
}
