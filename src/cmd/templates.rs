//! `legitka templates check [--profiles DIR] [--config FILE]`: every template
//! and printer profile, checked, with what is wrong said by file and element;
//! with a configuration, also whether the school's own lines (its
//! `[school_card]`) fit every layout.

use legitka::card::profile::Profiles;
use legitka::card::render::Renderer;
use legitka::settings::Settings;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Check templates (ids, fonts, fields inside the card) and printer
    /// profiles; with --config, that the school's lines fit every layout.
    Check {
        /// The profiles directory (with printers/ and templates/).
        #[arg(long, default_value = "profiles")]
        profiles: PathBuf,
        /// The station's configuration: its [school_card] is laid out on
        /// every template, with its printer profile.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

pub fn run(a: Args) -> anyhow::Result<()> {
    match a.action {
        Action::Check { profiles, config } => {
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
            let Some(config) = config else {
                return Ok(());
            };
            let settings = Settings::load(Some(&config))?;
            let Some(school) = settings.school_card() else {
                println!("{}: no [school_card] to check", config.display());
                return Ok(());
            };
            let printer = loaded.printer(&settings.printer.profile)?.clone();
            let renderer = Renderer::new(loaded, printer);
            let misfits = legitka::card::school::check(&renderer, school);
            for m in &misfits {
                println!("{}: {m}", config.display());
            }
            if !misfits.is_empty() {
                anyhow::bail!(
                    "the school's lines in {} do not fit {} layout(s)",
                    config.display(),
                    misfits.len()
                );
            }
            println!(
                "ok: the school's lines in {} fit every layout",
                config.display()
            );
            Ok(())
        }
    }
}
