//! `legitka templates check [--profiles DIR]`: every template and printer
//! profile, checked, with what is wrong said by file and element.

use legitka::card::profile::Profiles;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Check templates (ids, fonts, fields inside the card) and printer profiles.
    Check {
        /// The profiles directory (with printers/ and templates/).
        #[arg(long, default_value = "profiles")]
        profiles: PathBuf,
    },
}

pub fn run(a: Args) -> anyhow::Result<()> {
    match a.action {
        Action::Check { profiles } => {
            let problems = Profiles::check_dir(&profiles)?;
            for p in &problems {
                println!("{p}");
            }
            if !problems.is_empty() {
                anyhow::bail!("{} problem(s) in {}", problems.len(), profiles.display());
            }
            let loaded = Profiles::load_dir(&profiles)?;
            println!(
                "ok: {} printer profile(s), {} template(s): {}",
                loaded.printers.len(),
                loaded.patterns.len(),
                loaded
                    .patterns
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(())
        }
    }
}
