//! `legitka blanks`: numbered card blanks received, loaded in the printer,
//! unloaded, destroyed or returned, a range recorded in error voided, and
//! the stock per pattern.

use anyhow::Context;
use legitka::records::store::{span, Store};
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
        /// The blank's pattern, as the card layouts name it (MEiN-I/1).
        #[arg(long)]
        pattern: String,
        /// The first blank's serial, e.g. 000101.
        #[arg(long)]
        first: String,
        #[arg(long)]
        count: u32,
        #[arg(long)]
        operator: String,
        /// A delivery of more than 1,000 blanks: the count was checked.
        #[arg(long)]
        confirm_large: bool,
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
    /// The blanks taken out of the printer's feeder: back in stock.
    Unload {
        #[arg(long)]
        pattern: String,
        #[arg(long)]
        operator: String,
    },
    /// A blank destroyed before printing (damaged, lost), with the reason.
    Destroy(Disposal),
    /// A blank returned to the supplier, with the reason.
    Return(Disposal),
    /// A range recorded in error (a mistyped delivery): kept, marked void.
    Void {
        #[arg(long)]
        pattern: String,
        #[arg(long)]
        first: String,
        #[arg(long)]
        count: u32,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        operator: String,
    },
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
            confirm_large,
        } => {
            let pattern = super::renderer(&settings)?
                .known_pattern(&pattern)
                .map_err(anyhow::Error::msg)?;
            let actor = super::actor(&store, &operator).await?;
            let s = store
                .receive_blanks(&pattern, &first, count, confirm_large, &actor)
                .await?;
            println!(
                "received {} blanks {pattern}: {} (by {})",
                s.len(),
                span(&s),
                actor.name
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
            let actor = super::actor(&store, &operator).await?;
            let s = store.load_blanks(&pattern, &first, count, &actor).await?;
            println!(
                "loaded {} blanks {pattern}: {}; the printer takes them in this order",
                s.len(),
                span(&s)
            );
        }
        BlanksCommand::Unload { pattern, operator } => {
            let actor = super::actor(&store, &operator).await?;
            let u = store.unload_blanks(&pattern, &actor).await?;
            if !u.serials.is_empty() {
                println!(
                    "unloaded {} blanks {pattern}: {} (back in stock)",
                    u.serials.len(),
                    span(&u.serials)
                );
            }
            for line in super::reserved_lines(&store, &pattern, &u.reserved).await? {
                println!("{line}");
            }
        }
        BlanksCommand::Destroy(d) => dispose(&store, d, "destroyed").await?,
        BlanksCommand::Return(d) => dispose(&store, d, "returned").await?,
        BlanksCommand::Void {
            pattern,
            first,
            count,
            reason,
            operator,
        } => {
            let actor = super::actor(&store, &operator).await?;
            let s = store
                .void_blanks(&pattern, &first, count, &reason, &actor)
                .await?;
            println!(
                "voided {} blanks {pattern}: {} ({reason}); they are kept in the records, never counted as received",
                s.len(),
                span(&s)
            );
        }
        BlanksCommand::Stock => {
            println!(
                "{:<12} {:>9} {:>9} {:>7} {:>8} {:>8} {:>10} {:>9} {:>7}",
                "pattern",
                "received",
                "in stock",
                "loaded",
                "printed",
                "spoiled",
                "destroyed",
                "returned",
                "voided"
            );
            for b in store.blank_stock().await? {
                println!(
                    "{:<12} {:>9} {:>9} {:>7} {:>8} {:>8} {:>10} {:>9} {:>7}",
                    b.pattern,
                    b.received,
                    b.in_stock,
                    b.loaded,
                    b.printed,
                    b.spoiled,
                    b.destroyed,
                    b.returned,
                    b.voided
                );
                if b.cards_without_serial + b.spoiled_without_serial > 0 {
                    println!(
                        "note: {} cards and {} spoiled blanks {} were recorded without a serial: account for them by hand",
                        b.cards_without_serial, b.spoiled_without_serial, b.pattern
                    );
                }
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
    let actor = super::actor(store, &d.operator).await?;
    store
        .dispose_blank(&d.pattern, &d.serial, how, &d.reason, &actor)
        .await?;
    println!(
        "blank {} {} recorded as {how}: {} (by {})",
        d.pattern, d.serial, d.reason, actor.name
    );
    Ok(())
}
