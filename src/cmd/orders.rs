//! Operator commands on the station's database: list, release, register.

use legitka::records::store::Store;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ListArgs {
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Only orders in this state (queued, printing, printed, held, cancelled).
    #[arg(long)]
    status: Option<String>,
}

#[derive(clap::Args)]
pub struct ReleaseArgs {
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The held order.
    order_id: String,
    /// Who decides: recorded with the release.
    #[arg(long)]
    operator: String,
    /// The interrupted blank is spoiled: record it in the register.
    #[arg(long)]
    spoiled: bool,
    /// With --spoiled, for a card that reserved no blank when it started:
    /// the serial read off the ruined blank.
    #[arg(long, requires = "spoiled")]
    blank: Option<String>,
}

#[derive(clap::Args)]
pub struct ConfirmArgs {
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The held order whose card came out whole after all.
    order_id: String,
    #[arg(long)]
    operator: String,
    /// For a card that reserved no blank when it started: the serial read
    /// off the card (else it is registered without one).
    #[arg(long)]
    blank: Option<String>,
}

#[derive(clap::Args)]
pub struct DiscardArgs {
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The order held because its pupil's photo was revoked.
    order_id: String,
    /// Who decides: recorded with the discard.
    #[arg(long)]
    operator: String,
}

#[derive(clap::Args)]
pub struct RegisterArgs {
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Write here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

async fn open(config: Option<&std::path::Path>) -> anyhow::Result<Store> {
    Ok(super::open_store(config).await?.1)
}

pub async fn list(a: ListArgs) -> anyhow::Result<()> {
    let store = open(a.config.as_deref()).await?;
    println!(
        "{:<5} {:<36} {:<12} {:<10} {:<10} hold",
        "seq", "order", "card", "student", "status"
    );
    for o in store.orders().await? {
        if a.status.as_deref().is_some_and(|s| s != o.status) {
            continue;
        }
        println!(
            "{:<5} {:<36} {:<12} {:<10} {:<10} {}",
            o.seq,
            o.order_id,
            o.card_number,
            o.student_id,
            o.status,
            o.hold_code
                .map(|c| format!("{c}: {}", o.hold_message.unwrap_or_default()))
                .unwrap_or_default()
        );
    }
    Ok(())
}

pub async fn release(a: ReleaseArgs) -> anyhow::Result<()> {
    let store = open(a.config.as_deref()).await?;
    let actor = super::actor(&store, &a.operator).await?;
    let released = store
        .release(&a.order_id, &actor, a.spoiled, a.blank.as_deref())
        .await?;
    store.checkpoint_if_purged().await?;
    match released {
        legitka::records::store::Released::Queued => {
            println!("order {} queued again on {}'s word", a.order_id, a.operator)
        }
        legitka::records::store::Released::HeldRevoked => println!(
            "order {}: the student's photo was revoked, so it cannot print again; it stays held (photo_revoked){}",
            a.order_id,
            if a.spoiled { "; the blank is recorded as spoiled" } else { "" }
        ),
    }
    Ok(())
}

pub async fn confirm(a: ConfirmArgs) -> anyhow::Result<()> {
    let store = open(a.config.as_deref()).await?;
    let actor = super::actor(&store, &a.operator).await?;
    store
        .confirm_printed(&a.order_id, &actor, a.blank.as_deref())
        .await?;
    // The photo is deleted: its pages leave the file now, not at the
    // station's next checkpoint.
    store.checkpoint_if_purged().await?;
    println!(
        "order {} registered as issued on {}'s word",
        a.order_id, a.operator
    );
    Ok(())
}

pub async fn discard(a: DiscardArgs) -> anyhow::Result<()> {
    let store = open(a.config.as_deref()).await?;
    let actor = super::actor(&store, &a.operator).await?;
    store.discard_held(&a.order_id, &actor).await?;
    store.checkpoint_if_purged().await?;
    println!(
        "order {} discarded on {}'s word: its data is deleted and the central system is told (order.rejected, discarded)",
        a.order_id, a.operator
    );
    Ok(())
}

pub async fn register(a: RegisterArgs) -> anyhow::Result<()> {
    let store = open(a.config.as_deref()).await?;
    let csv = store.register_csv().await?;
    match a.out {
        Some(p) => super::write_private(&p, csv.as_bytes())?,
        None => print!("{csv}"),
    }
    Ok(())
}
