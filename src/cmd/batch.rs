//! `legitka batch`: the operator starts a batch of waiting orders on a stack
//! of numbered blanks, pauses, resumes or cancels it, and reads it back.

use legitka::records::store::BatchRequest;
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
    },
    Resume {
        id: String,
    },
    /// Send the batch's unprinted orders back to waiting.
    Cancel {
        id: String,
    },
    /// Every batch with its progress.
    List,
    /// One batch: its cards and blank serials, spoiled blanks, what is left.
    Show {
        id: String,
    },
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
            let who = super::operator(&store, &operator).await?;
            let detail = format!("druki od nr {first_blank}");
            let (id, n) = store
                .start_batch(&BatchRequest {
                    operator: who,
                    first_blank,
                    class,
                    orders,
                    limit,
                })
                .await?;
            super::audit(
                &store,
                &operator,
                "batch.start",
                &id,
                Some(&format!("{n} kart, {detail}")),
            )
            .await?;
            println!("{id}");
            eprintln!("batch {id}: {n} cards, printing in turn");
        }
        BatchCommand::Pause { id } => {
            store.set_batch_status(&id, "paused").await?;
            println!("batch {id} paused");
        }
        BatchCommand::Resume { id } => {
            store.set_batch_status(&id, "running").await?;
            println!("batch {id} running");
        }
        BatchCommand::Cancel { id } => {
            store.set_batch_status(&id, "cancelled").await?;
            println!("batch {id} cancelled; its unprinted orders wait again");
        }
        BatchCommand::List => {
            println!(
                "{:<16} {:<10} {:<8} {:>6} {:>8} {:>8}  operator",
                "batch", "status", "class", "cards", "printed", "waiting"
            );
            for b in store.batches().await? {
                println!(
                    "{:<16} {:<10} {:<8} {:>6} {:>8} {:>8}  {}",
                    b.id,
                    b.status,
                    b.class.as_deref().unwrap_or("-"),
                    b.cards,
                    b.printed_cards.len(),
                    b.waiting,
                    b.operator
                );
            }
        }
        BatchCommand::Show { id } => {
            let b = store.batch(&id).await?;
            println!(
                "batch {} ({}), operator {}, class {}, blanks {} from {}",
                b.id,
                b.status,
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
