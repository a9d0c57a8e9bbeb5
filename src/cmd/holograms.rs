//! `legitka holograms` (deliveries, stock, spoiled stickers) and
//! `legitka hologram apply` (a sticker on a card, or on a whole class).

use legitka::records::hologram::SchoolYear;
use legitka::records::store::Store;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct HologramsArgs {
    #[command(subcommand)]
    command: Option<HologramsCommand>,
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum HologramsCommand {
    /// Record a delivery of hologram stickers for a school year.
    Receive {
        /// The school year they validate, e.g. 2025/2026.
        #[arg(long)]
        year: SchoolYear,
        /// The first sticker's serial, e.g. H0000001.
        #[arg(long)]
        first: String,
        #[arg(long)]
        count: u32,
        #[arg(long)]
        operator: String,
    },
    /// Stickers per school year: received, in stock, applied, spoiled (the default).
    Stock,
    /// Record a sticker as spoiled (damaged, misapplied); it is never deleted.
    Spoil {
        #[arg(long)]
        serial: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        operator: String,
    },
}

#[derive(clap::Args)]
pub struct HologramArgs {
    #[command(subcommand)]
    command: HologramCommand,
}

#[derive(clap::Subcommand)]
enum HologramCommand {
    /// Record that a hologram went on a card (or on every card of a class).
    Apply(ApplyArgs),
}

#[derive(clap::Args)]
pub struct CardArgs {
    #[command(subcommand)]
    command: CardCommand,
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum CardCommand {
    /// A card handed back: kept in the register, marked, no more holograms.
    Return {
        /// The card, by its number as printed.
        #[arg(long)]
        card: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        operator: String,
    },
}

pub async fn card(a: CardArgs) -> anyhow::Result<()> {
    let store = open(a.config.as_deref()).await?;
    let CardCommand::Return {
        card,
        reason,
        operator,
    } = a.command;
    let who = super::operator(&store, &operator).await?;
    store.return_card(&card, &reason, &who).await?;
    super::audit(&store, &operator, "card.return", &card, Some(&reason)).await?;
    println!("card {card} recorded as returned: {reason} (by {operator})");
    Ok(())
}

#[derive(clap::Args)]
struct ApplyArgs {
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The card, by its number as printed (e.g. 15/2025).
    #[arg(
        long,
        required_unless_present = "class",
        conflicts_with = "class",
        requires = "serial"
    )]
    card: Option<String>,
    /// Every current card of a class, in register order.
    #[arg(long, requires = "first")]
    class: Option<String>,
    #[arg(long)]
    year: SchoolYear,
    /// The sticker's serial (with --card).
    #[arg(long, conflicts_with = "class")]
    serial: Option<String>,
    /// The first sticker of the stack in hand (with --class).
    #[arg(long, conflicts_with = "card")]
    first: Option<String>,
    #[arg(long)]
    operator: String,
    /// List card -> sticker without recording anything.
    #[arg(long, requires = "class")]
    dry_run: bool,
}

async fn open(config: Option<&std::path::Path>) -> anyhow::Result<Store> {
    Ok(super::open_store(config).await?.1)
}

pub async fn holograms(a: HologramsArgs) -> anyhow::Result<()> {
    let store = open(a.config.as_deref()).await?;
    match a.command.unwrap_or(HologramsCommand::Stock) {
        HologramsCommand::Receive {
            year,
            first,
            count,
            operator,
        } => {
            let operator = super::operator(&store, &operator).await?;
            let serials = store
                .receive_holograms(year, &first, count, &operator)
                .await?;
            println!(
                "received {} holograms for {year}: {} to {} (by {operator})",
                serials.len(),
                serials[0],
                serials[serials.len() - 1]
            );
        }
        HologramsCommand::Stock => {
            println!(
                "{:<10} {:>9} {:>9} {:>9} {:>9}",
                "year", "received", "in stock", "applied", "spoiled"
            );
            for s in store.hologram_stock().await? {
                println!(
                    "{:<10} {:>9} {:>9} {:>9} {:>9}",
                    s.school_year, s.received, s.in_stock, s.applied, s.spoiled
                );
            }
        }
        HologramsCommand::Spoil {
            serial,
            reason,
            operator,
        } => {
            let operator = super::operator(&store, &operator).await?;
            store.spoil_hologram(&serial, &reason, &operator).await?;
            println!("hologram {serial} recorded as spoiled: {reason} (by {operator})");
        }
    }
    Ok(())
}

pub async fn hologram(a: HologramArgs) -> anyhow::Result<()> {
    let HologramCommand::Apply(a) = a.command;
    let store = open(a.config.as_deref()).await?;
    let who = super::operator(&store, &a.operator).await?;
    let applied = match (&a.card, &a.class) {
        (Some(card), _) => {
            let serial = a.serial.as_deref().expect("clap requires --serial");
            vec![store.apply_hologram(card, a.year, serial, &who).await?]
        }
        (None, Some(class)) => {
            let first = a.first.as_deref().expect("clap requires --first");
            store
                .apply_class(class, a.year, first, &who, a.dry_run)
                .await?
        }
        (None, None) => unreachable!("clap requires --card or --class"),
    };
    for h in &applied {
        println!(
            "{:<12} {:<40} -> {} (field {})",
            h.card_number,
            format!("{} {}", h.last_name, h.first_names),
            h.serial,
            h.slot
        );
    }
    if !a.dry_run {
        let (action, target) = match (&a.card, &a.class) {
            (Some(card), _) => ("hologram.apply", card.as_str()),
            (_, Some(class)) => ("hologram.apply_class", class.as_str()),
            _ => ("hologram.apply", ""),
        };
        let detail = format!("{}: {} hologramów", a.year, applied.len());
        super::audit(&store, &a.operator, action, target, Some(&detail)).await?;
    }
    if a.dry_run {
        println!(
            "dry run: {} cards, nothing recorded; run again without --dry-run",
            applied.len()
        );
    } else {
        println!(
            "{} holograms for {} recorded by {}",
            applied.len(),
            a.year,
            a.operator
        );
    }
    Ok(())
}
