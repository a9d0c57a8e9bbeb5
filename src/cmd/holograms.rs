//! `legitka holograms` (deliveries, stock, spoiled stickers) and
//! `legitka hologram apply` (a sticker on a card, or on a whole class).

use anyhow::Context;
use legitka::records::hologram::SchoolYear;
use legitka::records::store::{span, CardRef, ClassCards, Store};
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
        /// A delivery of more than 5,000 stickers: the count was checked.
        #[arg(long)]
        confirm_large: bool,
    },
    /// Stickers per school year: received, in stock, applied, spoiled (the default).
    Stock,
    /// Record a sticker as spoiled (damaged, misapplied); it is never deleted.
    /// One already on a card is named with that card.
    Spoil {
        #[arg(long)]
        serial: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        card: Which,
        #[arg(long)]
        operator: String,
    },
    /// A range recorded in error (a mistyped delivery): kept, marked void.
    Void {
        #[arg(long)]
        first: String,
        #[arg(long)]
        count: u32,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        operator: String,
    },
}

/// A card in the register: its number, and where the number names several
/// cards (an original and its duplicate), the blank serial on the card in
/// hand or the register row.
#[derive(clap::Args)]
pub struct Which {
    /// The card, by its number as printed (e.g. 15/2025).
    #[arg(long)]
    card: Option<String>,
    /// The blank serial pre-printed on the card.
    #[arg(long)]
    blank: Option<String>,
    /// The register's row (as a refusal lists them).
    #[arg(long)]
    row: Option<i64>,
}

impl Which {
    fn get(&self) -> Option<CardRef> {
        CardRef::from_parts(self.card.as_deref(), self.blank.as_deref(), self.row)
    }

    fn required(&self) -> anyhow::Result<CardRef> {
        self.get()
            .ok_or_else(|| anyhow::anyhow!("name the card: --card NUMBER (and --blank SERIAL or --row ID where the number names several)"))
    }
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
        #[command(flatten)]
        card: Which,
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
    let card = card.required()?;
    let actor = super::actor(&store, &operator).await?;
    let row = store.return_card(&card, &reason, &actor).await?;
    println!(
        "card {card} (register row #{row}) recorded as returned: {reason} (by {})",
        actor.name
    );
    Ok(())
}

#[derive(clap::Args)]
struct ApplyArgs {
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// One card (with --serial).
    #[command(flatten)]
    card: Which,
    /// Every current card of a class as recorded at issue (with
    /// --issued-in and --first).
    #[arg(long, requires_all = ["first", "issued_in"])]
    class: Option<String>,
    /// The school year the class's cards were issued in (a class moves up
    /// a year every September).
    #[arg(long)]
    issued_in: Option<SchoolYear>,
    /// A pile of cards as scanned, one a line (the number, optionally the
    /// blank serial after a space), from a file or - for standard input.
    #[arg(long, requires = "first", conflicts_with = "class")]
    pile: Option<PathBuf>,
    #[arg(long)]
    year: SchoolYear,
    /// The sticker's serial (one card).
    #[arg(long, conflicts_with_all = ["class", "pile"])]
    serial: Option<String>,
    /// The first sticker of the roll in hand (a class or a pile).
    #[arg(long)]
    first: Option<String>,
    #[arg(long)]
    operator: String,
    /// List card -> sticker without recording anything (a class or a pile).
    #[arg(long)]
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
            confirm_large,
        } => {
            let actor = super::actor(&store, &operator).await?;
            let serials = store
                .receive_holograms(year, &first, count, confirm_large, &actor)
                .await?;
            println!(
                "received {} holograms for {year}: {} (by {})",
                serials.len(),
                span(&serials),
                actor.name
            );
        }
        HologramsCommand::Stock => {
            println!(
                "{:<10} {:>9} {:>9} {:>9} {:>9} {:>7}",
                "year", "received", "in stock", "applied", "spoiled", "voided"
            );
            for s in store.hologram_stock().await? {
                println!(
                    "{:<10} {:>9} {:>9} {:>9} {:>9} {:>7}",
                    s.school_year, s.received, s.in_stock, s.applied, s.spoiled, s.voided
                );
            }
        }
        HologramsCommand::Spoil {
            serial,
            reason,
            card,
            operator,
        } => {
            let actor = super::actor(&store, &operator).await?;
            store
                .spoil_hologram(&serial, &reason, card.get().as_ref(), &actor)
                .await?;
            println!(
                "hologram {serial} recorded as spoiled: {reason} (by {})",
                actor.name
            );
        }
        HologramsCommand::Void {
            first,
            count,
            reason,
            operator,
        } => {
            let actor = super::actor(&store, &operator).await?;
            let s = store.void_holograms(&first, count, &reason, &actor).await?;
            println!(
                "voided {} holograms: {} ({reason}); kept in the records, never counted as received",
                s.len(),
                span(&s)
            );
        }
    }
    Ok(())
}

pub async fn hologram(a: HologramArgs) -> anyhow::Result<()> {
    let HologramCommand::Apply(a) = a.command;
    let store = open(a.config.as_deref()).await?;
    let actor = super::actor(&store, &a.operator).await?;
    let first = a.first.as_deref();
    let applied = match (&a.class, &a.pile, a.card.get()) {
        (Some(class), _, _) => {
            let which = ClassCards {
                class: class.clone(),
                issued_in: a
                    .issued_in
                    .context("--issued-in: the school year the class's cards were issued in")?,
            };
            store
                .apply_class(&which, a.year, first.context("--first")?, &actor, a.dry_run)
                .await?
        }
        (None, Some(pile), _) => {
            let text = if pile.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(pile)
                    .with_context(|| format!("reading {}", pile.display()))?
            };
            let cards: Vec<CardRef> = text.lines().filter_map(CardRef::from_line).collect();
            store
                .apply_pile(&cards, a.year, first.context("--first")?, &actor, a.dry_run)
                .await?
        }
        (None, None, Some(card)) => {
            anyhow::ensure!(!a.dry_run, "--dry-run is for a class or a pile");
            let serial = a
                .serial
                .as_deref()
                .context("--serial: the sticker's serial")?;
            vec![store.apply_hologram(&card, a.year, serial, &actor).await?]
        }
        (None, None, None) => {
            anyhow::bail!("name a card (--card), a class (--class) or a pile (--pile)")
        }
    };
    for h in &applied {
        println!(
            "{:<12} {:<40} issued {} -> {} (field {})",
            h.card_number,
            format!("{} {}", h.last_name, h.first_names),
            h.issue_date,
            h.serial,
            h.slot
        );
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
            actor.name
        );
    }
    Ok(())
}
