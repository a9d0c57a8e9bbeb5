//! `legitka backup`, `legitka restore` and `legitka db check`: the register
//! copied while the station prints, put back on a new workstation, and
//! checked against its own accounting.

use anyhow::Context;
use legitka::records::backup;
use legitka::records::store::{span, Holdings, Store};
use legitka::runtime::lock::{DaemonLock, LockError};
use legitka::settings::Settings;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct BackupArgs {
    /// Where to put it; default: `[backup] dir` of the configuration.
    #[arg(long)]
    to: Option<PathBuf>,
    /// Do nothing (and succeed) when no directory is configured: the daily
    /// timer's way, so that backups are off until a directory is set.
    #[arg(long)]
    if_configured: bool,
    #[arg(long, short)]
    config: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The backup file (`legitka-STATION-TIME.db`, or `.db.age` encrypted).
    from: PathBuf,
    /// The age secret key that opens an encrypted backup.
    #[arg(long)]
    identity: Option<PathBuf>,
    /// Who restores (recorded in the audit log).
    #[arg(long)]
    operator: String,
    #[arg(long, short)]
    config: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct DbArgs {
    #[command(subcommand)]
    command: DbCommand,
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum DbCommand {
    /// SQLite's integrity check and the register's accounting; exits
    /// non-zero naming what is wrong.
    Check,
}

pub async fn backup(a: BackupArgs) -> anyhow::Result<()> {
    let s = Settings::load(a.config.as_deref())?;
    let Some(to) = a.to.clone().or_else(|| s.backup.dir.clone()) else {
        if a.if_configured {
            println!("backups are off: set [backup] dir in the configuration");
            return Ok(());
        }
        anyhow::bail!("where to? give --to DIR, or set [backup] dir in the configuration");
    };
    let store = existing(&s).await?;
    let made = backup::make(
        &store,
        &s.data_dir,
        &to,
        &s.station,
        s.backup.keep,
        s.backup.recipient.as_deref(),
    )
    .await;
    match made {
        Ok(m) => {
            let file = m.file.display().to_string();
            let what = if m.encrypted {
                "checked, encrypted"
            } else {
                "checked, NOT encrypted (set [backup] recipient)"
            };
            store
                .record_backup(Some(&file), Some(m.bytes as i64), true, what)
                .await?;
            println!("{file}: {} bytes, {what}", m.bytes);
            for r in &m.removed {
                println!("removed the older {}", r.display());
            }
            Ok(())
        }
        Err(e) => {
            let msg = e.to_string();
            // Recorded where the page and the state show it; the log of
            // the timer has it too.
            let _ = store.record_backup(None, None, false, &msg).await;
            Err(anyhow::anyhow!("backup failed: {msg}"))
        }
    }
}

/// The station's database, which must exist: opening a missing one would
/// make an empty register and call it checked (a mistyped data_dir).
async fn existing(s: &Settings) -> anyhow::Result<Store> {
    let db = s.db_path();
    anyhow::ensure!(
        db.exists(),
        "no database at {}: is data_dir right? (the station makes it when it first starts)",
        db.display()
    );
    Store::open(&db, &s.station)
        .await
        .with_context(|| format!("opening {}", db.display()))
}

pub async fn restore(a: RestoreArgs) -> anyhow::Result<()> {
    let s = Settings::load(a.config.as_deref())?;
    std::fs::create_dir_all(&s.data_dir)
        .with_context(|| format!("creating {}", s.data_dir.display()))?;
    let db = s.db_path();
    // Whatever happens below, run as root (sudo, to read a key kept
    // elsewhere) the files it made stay the station's, or it cannot start.
    let _hand_back = HandBack {
        data_dir: s.data_dir.clone(),
        files: ["", "-wal", "-shm"]
            .iter()
            .map(|x| PathBuf::from(format!("{}{x}", db.display())))
            .chain([s.data_dir.join("legitka.lock")])
            .collect(),
    };
    // Held until the restored register is in place: no daemon starts on a
    // half-restored one.
    let _lock = DaemonLock::take(&s.data_dir).map_err(|e| match e {
        LockError::Held { holder, .. } => anyhow::anyhow!(
            "the station runs ({holder}): stop it first (systemctl stop legitka), then restore"
        ),
        e => e.into(),
    })?;
    let operator = a.operator.trim();
    anyhow::ensure!(!operator.is_empty(), "--operator: say who you are");
    let prepared = backup::prepare(&a.from, a.identity.as_deref(), &s.data_dir).await?;
    let kept = backup::put_in_place(&prepared, &db)?;
    let store = Store::open(&db, &s.station)
        .await
        .with_context(|| format!("opening the restored {}", db.display()))?;
    let actor = crate::cmd::actor(&store, operator).await?;
    let from = a.from.display().to_string();
    // What the backup says, before the feeder is taken out of it.
    let h = store.holdings().await?;
    let (paused, unloaded) = store.restored(&from, &actor).await?;
    println!("restored {from} as {}", db.display());
    if let Some(k) = kept {
        println!(
            "the database it replaced is kept as {} (remove it once this one is found right)",
            k.display()
        );
    }
    print!("{}", holdings_text(&h));
    for (pattern, serials) in &unloaded {
        println!(
            "blanks {pattern} {} are taken out of the register's feeder: load what the printer's feeder really holds (legitka blanks load) after comparing it",
            span(serials)
        );
    }
    for b in &paused {
        println!(
            "batch {b} is paused: compare the printer's feeder with the blanks above, then resume it"
        );
    }
    println!("cards printed after the backup are not in this register: set them aside and compare them with it before printing on");
    store.close().await;
    Ok(())
}

/// Gives files to the owner of the data directory when dropped.
struct HandBack {
    data_dir: PathBuf,
    files: Vec<PathBuf>,
}

impl Drop for HandBack {
    fn drop(&mut self) {
        use std::os::unix::fs::MetadataExt;
        // Not root: the files are already the caller's, and a chown to
        // another owner is refused; nothing to do either way.
        if let Ok(m) = std::fs::metadata(&self.data_dir) {
            for f in self.files.iter().filter(|f| f.exists()) {
                let _ = std::os::unix::fs::chown(f, Some(m.uid()), Some(m.gid()));
            }
        }
    }
}

/// What the register holds, in the words the operator compares with the
/// room: no names, only numbers.
fn holdings_text(h: &Holdings) -> String {
    let mut out = String::new();
    match &h.last_card {
        Some((number, at, serial)) => out.push_str(&format!(
            "last card: {number}, printed {at}{} ({} cards in the register)\n",
            serial
                .as_ref()
                .map(|s| format!(" on blank {s}"))
                .unwrap_or_default(),
            h.cards
        )),
        None => out.push_str("no card in the register\n"),
    }
    for b in &h.blanks {
        out.push_str(&format!(
            "blanks {}: last used {}; in the printer {}\n",
            b.pattern,
            b.last_used.as_deref().unwrap_or("none"),
            if b.loaded.is_empty() {
                "none".to_string()
            } else {
                format!("{} ({})", span(&b.loaded), b.loaded.len())
            }
        ));
    }
    for (year, serial, card) in &h.holograms {
        out.push_str(&format!(
            "holograms {year}: last {serial} on card {}\n",
            card.as_deref().unwrap_or("?")
        ));
    }
    let logins = |role: &str| {
        h.accounts
            .iter()
            .filter(|(_, r)| r == role)
            .map(|(l, _)| l.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push_str(&format!(
        "accounts that may log in: admin: {}; operator: {}; auditor: {}\n",
        logins("admin"),
        logins("operator"),
        logins("auditor")
    ));
    out.push_str(&format!(
        "waiting: {}, held: {}, recorded as in the printer: {}\n",
        h.waiting, h.held, h.printing
    ));
    out
}

pub async fn db(a: DbArgs) -> anyhow::Result<()> {
    match a.command {
        DbCommand::Check => {
            let store = existing(&Settings::load(a.config.as_deref())?).await?;
            let problems = store.check().await?;
            if problems.is_empty() {
                let h = store.holdings().await?;
                println!("the database is whole and its accounting adds up");
                print!("{}", holdings_text(&h));
                return Ok(());
            }
            for p in &problems {
                println!("{p}");
            }
            anyhow::bail!(
                "{} problem(s) found: the register does not add up",
                problems.len()
            )
        }
    }
}
