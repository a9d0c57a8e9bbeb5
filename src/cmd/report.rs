//! `legitka report`: the register, a batch's print protocol and a class's
//! handover list, as PDF (A4 landscape, Polish) or CSV (UTF-8 with BOM).

use anyhow::bail;
use legitka::records::report::catalogue::{self, Report};
use legitka::records::report::{self as format, Table};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    command: ReportCommand,
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum ReportCommand {
    /// The register of issued cards (`.pdf` or `.csv`).
    Register {
        #[arg(long)]
        out: PathBuf,
        /// Only cards issued in this calendar year.
        #[arg(long)]
        year: Option<i32>,
    },
    /// A batch's print protocol, with signature lines.
    Batch {
        #[arg(long)]
        batch: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// A class's list for handing the cards over, with a signature column.
    Handover {
        #[arg(long)]
        class: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// A school year's holograms: received, applied (card, date, who), spoiled, in stock.
    Holograms {
        #[arg(long)]
        year: legitka::records::hologram::SchoolYear,
        #[arg(long)]
        out: PathBuf,
    },
    /// Blank accounting per pattern, serial by serial ranges.
    Blanks {
        #[arg(long)]
        out: PathBuf,
    },
}

fn write(t: &Table, out: &Path) -> anyhow::Result<()> {
    let bytes = match out.extension().and_then(|e| e.to_str()) {
        Some("pdf") => format::pdf(t, &catalogue::today()).map_err(anyhow::Error::msg)?,
        Some("csv") => format::csv(t),
        _ => bail!("{}: the report is written as .pdf or .csv", out.display()),
    };
    super::write_private(out, &bytes)?;
    println!("{} rows written to {}", t.rows.len(), out.display());
    Ok(())
}

pub async fn run(a: ReportArgs) -> anyhow::Result<()> {
    let (s, store) = super::open_store(a.config.as_deref()).await?;
    let (which, out) = match a.command {
        ReportCommand::Register { out, year } => (Report::Register { year }, out),
        ReportCommand::Batch { batch, out } => (Report::Batch { batch }, out),
        ReportCommand::Handover { class, out } => (Report::Handover { class }, out),
        ReportCommand::Holograms { year, out } => (Report::Holograms { year }, out),
        ReportCommand::Blanks { out } => (Report::Blanks, out),
    };
    let t = catalogue::build(&store, &s.school, &which).await?;
    write(&t, &out)
}
