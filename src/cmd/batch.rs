//! `legitka batch`: the operator starts a batch of waiting orders on a stack
//! of numbered blanks, pauses, resumes or cancels it, and reads it back.

use legitka::records::store::{span, BatchRequest};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct BatchArgs {
    #[command(subcommand)]
    command: BatchCommand,
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum BatchCommand {
    /// Print waiting orders now, on the blanks loaded from --first-blank on.
    /// With neither --class nor --order it takes every waiting order.
    Start {
        /// The serial of the first blank of the stack put in the feeder.
        #[arg(long)]
        first_blank: String,
        #[arg(long)]
        operator: String,
        /// Only this class's orders.
        #[arg(long)]
        class: Option<String>,
        /// Only these orders (repeat for several).
        #[arg(long = "order")]
        orders: Vec<String>,
        /// At most this many cards (the blanks in the stack).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Stop taking this batch's cards after the one in the printer.
    Pause {
        id: String,
        #[arg(long)]
        operator: String,
    },
    Resume {
        id: String,
        #[arg(long)]
        operator: String,
    },
    /// Send the batch's unprinted orders back to waiting, and its unused
    /// blanks back to stock (take them out of the feeder).
    Cancel {
        id: String,
        #[arg(long)]
        operator: String,
    },
    /// Every batch with its progress.
    List,
    /// One batch: its cards and blank serials, spoiled blanks, what is left.
    Show { id: String },
}

pub async fn run(a: BatchArgs) -> anyhow::Result<()> {
    let (_, store) = super::open_store(a.config.as_deref()).await?;
    match a.command {
        BatchCommand::Start {
            first_blank,
            operator,
            class,
            orders,
            limit,
        } => {
            let actor = super::actor(&store, &operator).await?;
            let b = store
                .start_batch(
                    &BatchRequest {
                        first_blank,
                        class,
                        orders,
                        limit,
                    },
                    &actor,
                )
                .await?;
            println!("{}", b.id);
            if !b.kept.is_empty() {
                eprintln!(
                    "blanks {} were loaded already: the batch prints on them first",
                    span(&b.kept)
                );
            }
            if !b.loaded.is_empty() {
                eprintln!("loaded for the batch: {}", span(&b.loaded));
            }
            eprintln!("batch {}: {} cards, printing in turn", b.id, b.cards);
        }
        BatchCommand::Pause { id, operator } => {
            let actor = super::actor(&store, &operator).await?;
            store.set_batch_status(&id, "paused", &actor).await?;
            println!("batch {id} paused");
        }
        BatchCommand::Resume { id, operator } => {
            let actor = super::actor(&store, &operator).await?;
            store.set_batch_status(&id, "running", &actor).await?;
            println!("batch {id} running");
        }
        BatchCommand::Cancel { id, operator } => {
            let actor = super::actor(&store, &operator).await?;
            let unloaded = store.set_batch_status(&id, "cancelled", &actor).await?;
            let pattern = store.batch(&id).await?.pattern;
            println!("batch {id} cancelled; its unprinted orders wait again");
            if let Some(u) = unloaded {
                if !u.serials.is_empty() {
                    println!(
                        "take blanks {} out of the feeder: they are back in stock",
                        span(&u.serials)
                    );
                }
                for line in super::reserved_lines(&store, &pattern, &u.reserved).await? {
                    println!("{line}");
                }
            }
        }
        BatchCommand::List => {
            println!(
                "{:<16} {:<10} {:<8} {:>6} {:>8} {:>8}  operator",
                "batch", "status", "class", "cards", "printed", "waiting"
            );
            let mut all = store.batch_summaries(false, i64::MAX, 0).await?;
            all.reverse();
            for b in all {
                println!(
                    "{:<16} {:<10} {:<8} {:>6} {:>8} {:>8}  {}",
                    b.id,
                    b.status,
                    b.class.as_deref().unwrap_or("-"),
                    b.cards,
                    b.printed,
                    b.waiting,
                    b.operator
                );
            }
        }
        BatchCommand::Show { id } => {
            let b = store.batch(&id).await?;
            println!(
                "batch {} ({}{}), operator {}, class {}, blanks {} from {}",
                b.id,
                b.status,
                match b.paused_reason.as_deref() {
                    Some(legitka::records::store::RESTORED) => ": the register was restored from a backup; compare the feeder and the cards printed since with it, then resume it",
                    Some(_) => ": no blank loaded for its next card; load blanks and resume it",
                    None => "",
                },
                b.operator,
                b.class.as_deref().unwrap_or("-"),
                b.pattern,
                b.first_blank
            );
            for (card, name, serial) in &b.printed_cards {
                println!(
                    "  printed  {card:<12} {name:<40} blank {}",
                    serial.as_deref().unwrap_or("-")
                );
            }
            for (card, serial, cause) in &b.spoiled {
                println!(
                    "  spoiled  {card:<12} blank {} ({cause})",
                    serial.as_deref().unwrap_or("-")
                );
            }
            println!(
                "{} of {} printed, {} spoiled, {} left",
                b.printed_cards.len(),
                b.cards,
                b.spoiled.len(),
                b.waiting
            );
        }
    }
    Ok(())
}
