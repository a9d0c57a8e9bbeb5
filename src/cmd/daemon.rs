//! `legitka daemon --config FILE`

use legitka::settings::Settings;
use legitka::{shutdown, station};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The TOML configuration (see config/legitka.toml).
    #[arg(long, short)]
    config: Option<PathBuf>,
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    let settings = Settings::load(a.config.as_deref())?;
    let (trigger, stop) = shutdown::channel();
    shutdown::on_signals(trigger);
    station::run(settings, stop).await?;
    Ok(())
}
