//! `legitka blanks`: numbered card blanks received, loaded in the printer,
//! destroyed or returned, and the stock per pattern.

use anyhow::Context;
use legitka::records::store::Store;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct BlanksArgs {
    #[command(subcommand)]
    command: Option<BlanksCommand>,
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum BlanksCommand {
    /// Record a delivery of numbered blanks.
    Receive {
        /// The blank's pattern as the orders name it, e.g. MEiN-I/1.
        #[arg(long)]
        pattern: String,
        /// The first blank's serial, e.g. 000101.
        #[arg(long)]
        first: String,
        #[arg(long)]
        count: u32,
        #[arg(long)]
        operator: String,
    },
    /// A stack put in the printer's feeder: the queue uses them in turn.
    Load {
        /// Needed only when two patterns have a blank with this serial.
        #[arg(long)]
        pattern: Option<String>,
        #[arg(long)]
        first: String,
        #[arg(long)]
        count: u32,
        #[arg(long)]
        operator: String,
    },
    /// A blank destroyed before printing (damaged, lost), with the reason.
    Destroy(Disposal),
    /// A blank returned to the supplier, with the reason.
    Return(Disposal),
    /// Blanks per pattern and what became of them (the default).
    Stock,
}

#[derive(clap::Args)]
struct Disposal {
    #[arg(long)]
    pattern: String,
    #[arg(long)]
    serial: String,
    #[arg(long)]
    reason: String,
    #[arg(long)]
    operator: String,
}

pub async fn run(a: BlanksArgs) -> anyhow::Result<()> {
    let (settings, store) = super::open_store(a.config.as_deref()).await?;
    match a.command.unwrap_or(BlanksCommand::Stock) {
        BlanksCommand::Receive {
            pattern,
            first,
            count,
            operator,
        } => {
            let operator = super::operator(&store, &operator).await?;
            let s = store
                .receive_blanks(&pattern, &first, count, &operator)
                .await?;
            println!(
                "received {} blanks {pattern}: {} to {} (by {operator})",
                s.len(),
                s[0],
                s[s.len() - 1]
            );
        }
        BlanksCommand::Load {
            pattern,
            first,
            count,
            operator,
        } => {
            let pattern = match pattern {
                Some(p) => p,
                None => store.blank_pattern_of(&first).await?.with_context(|| {
                    format!("no single pattern has blank {first} in stock: give --pattern")
                })?,
            };
            let operator = super::operator(&store, &operator).await?;
            let s = store
                .load_blanks(&pattern, &first, count, &operator)
                .await?;
            println!(
                "loaded {} blanks {pattern}: {} to {}; the printer takes them in this order",
                s.len(),
                s[0],
                s[s.len() - 1]
            );
        }
        BlanksCommand::Destroy(d) => dispose(&store, d, "destroyed").await?,
        BlanksCommand::Return(d) => dispose(&store, d, "returned").await?,
        BlanksCommand::Stock => {
            println!(
                "{:<12} {:>9} {:>9} {:>7} {:>8} {:>8} {:>10} {:>9}",
                "pattern",
                "received",
                "in stock",
                "loaded",
                "printed",
                "spoiled",
                "destroyed",
                "returned"
            );
            for b in store.blank_stock().await? {
                println!(
                    "{:<12} {:>9} {:>9} {:>7} {:>8} {:>8} {:>10} {:>9}",
                    b.pattern,
                    b.received,
                    b.in_stock,
                    b.loaded,
                    b.printed,
                    b.spoiled,
                    b.destroyed,
                    b.returned
                );
                if b.in_stock + b.loaded < settings.blanks.warn_below {
                    println!(
                        "warning: only {} blanks {} left (warn_below = {}): order more",
                        b.in_stock + b.loaded,
                        b.pattern,
                        settings.blanks.warn_below
                    );
                }
            }
        }
    }
    Ok(())
}

async fn dispose(store: &Store, d: Disposal, how: &str) -> anyhow::Result<()> {
    store
        .dispose_blank(
            &d.pattern,
            &d.serial,
            how,
            &d.reason,
            &super::operator(store, &d.operator).await?,
        )
        .await?;
    println!(
        "blank {} {} recorded as {how}: {} (by {})",
        d.pattern, d.serial, d.reason, d.operator
    );
    Ok(())
}
