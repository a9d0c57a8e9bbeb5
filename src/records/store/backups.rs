//! The database's side of backups: a consistent copy taken while the
//! station prints, the record of every backup made (a failed one shows on
//! the page and in the retained state), and what a restored register holds.

use super::blanks::{unload_in, Unload};
use super::{audit_in, Result, Store};
use crate::records::actor::Actor;
use crate::records::event;
use sqlx::Row;
use std::path::Path;

/// Why a batch waits after a restore: the feeder and the cards printed
/// since the backup are for the operator to compare before it goes on.
pub const RESTORED: &str = "restored";

/// The last backup made, as the Pulpit page and the state show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LastBackup {
    pub at: String,
    pub ok: bool,
    pub file: Option<String>,
    pub bytes: Option<i64>,
    pub message: String,
}

/// What a register holds, as `legitka restore` tells the operator: what to
/// compare with the cards, blanks and stickers in the room.
#[derive(Debug, Clone, Default)]
pub struct Holdings {
    /// Card number, printed at, blank serial of the last card registered.
    pub last_card: Option<(String, String, Option<String>)>,
    pub cards: i64,
    pub blanks: Vec<BlanksHeld>,
    /// Per school year: the last hologram applied, on which card.
    pub holograms: Vec<(String, String, Option<String>)>,
    pub waiting: i64,
    pub held: i64,
    pub printing: i64,
    /// Accounts that may log in: login, role.
    pub accounts: Vec<(String, String)>,
}

/// One pattern's blanks, as a restore reports them.
#[derive(Debug, Clone, Default)]
pub struct BlanksHeld {
    pub pattern: String,
    /// The last serial printed on or spoiled.
    pub last_used: Option<String>,
    /// The stack the register has in the printer, in feeder order.
    pub loaded: Vec<String>,
}

impl Store {
    /// A consistent copy of the whole database into `dest` (an empty or
    /// missing file), taken inside one read transaction while the station
    /// goes on writing: SQLite's `VACUUM INTO`, never a file copy, and with
    /// no free pages (nothing deleted lives on in the copy).
    pub async fn vacuum_into(&self, dest: &Path) -> Result<()> {
        sqlx::query("VACUUM INTO ?")
            .bind(dest.display().to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes the database, its log emptied into it: a command that ran as
    /// another user leaves no log file the station could not open.
    pub async fn close(self) {
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await;
        self.pool.close().await;
    }

    /// Records a backup made or failed.
    pub async fn record_backup(
        &self,
        file: Option<&str>,
        bytes: Option<i64>,
        ok: bool,
        message: &str,
    ) -> Result<()> {
        sqlx::query("INSERT INTO backups (at, file, bytes, ok, message) VALUES (?, ?, ?, ?, ?)")
            .bind(event::now())
            .bind(file)
            .bind(bytes)
            .bind(ok)
            .bind(message)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn last_backup(&self) -> Result<Option<LastBackup>> {
        let row = sqlx::query(
            "SELECT at, ok, file, bytes, message FROM backups ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| LastBackup {
            at: r.get("at"),
            ok: r.get("ok"),
            file: r.get("file"),
            bytes: r.get("bytes"),
            message: r.get("message"),
        }))
    }

    /// What the register holds now.
    pub async fn holdings(&self) -> Result<Holdings> {
        let last_card = sqlx::query_as(
            "SELECT card_number, printed_at, blank_serial FROM cards ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let (cards,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM cards")
            .fetch_one(&self.pool)
            .await?;
        let counts = self.counts().await?;
        let patterns: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT pattern FROM blank_deliveries ORDER BY pattern")
                .fetch_all(&self.pool)
                .await?;
        let mut blanks = Vec::new();
        for (p,) in patterns {
            // The last one used: taken by the printer last (printed or
            // spoiled), by the time it was used.
            let used: Option<(String,)> = sqlx::query_as(
                "SELECT serial FROM blanks WHERE pattern = ? AND status IN ('printed', 'spoiled')
                 ORDER BY used_at DESC, length(serial) DESC, serial DESC LIMIT 1",
            )
            .bind(&p)
            .fetch_optional(&self.pool)
            .await?;
            let loaded = self
                .loaded_blanks(&p)
                .await?
                .into_iter()
                .map(|(serial, _)| serial)
                .collect();
            blanks.push(BlanksHeld {
                pattern: p,
                last_used: used.map(|u| u.0),
                loaded,
            });
        }
        // SQLite takes the bare columns from the row of the MAX.
        let rows: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT school_year, serial, card_number, MAX(applied_at) FROM holograms
             WHERE status = 'applied' GROUP BY school_year ORDER BY school_year",
        )
        .fetch_all(&self.pool)
        .await?;
        let holograms = rows.into_iter().map(|(y, s, c, _)| (y, s, c)).collect();
        // Who may log in: a restored register brings its accounts with it,
        // and the one restoring it should see whom it lets in.
        let accounts = sqlx::query_as(
            "SELECT login, role FROM users WHERE disabled_at IS NULL ORDER BY role, login",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(Holdings {
            last_card,
            cards,
            blanks,
            holograms,
            waiting: counts.pending,
            held: counts.held,
            printing: counts.printing,
            accounts,
        })
    }

    /// A register just restored from a backup. What the printer took
    /// since the backup is not in it, so the register no longer knows what
    /// is in the feeder: every loaded blank not reserved by a card is taken
    /// out of the register (the operator loads what the feeder really
    /// holds), and every batch with cards still to print waits for the
    /// operator, even one that would go on by itself once blanks are
    /// loaded. The restore is in the audit log. Answers the batches paused
    /// and, per pattern, the serials unloaded.
    pub async fn restored(
        &self,
        from: &str,
        actor: &Actor,
    ) -> Result<(Vec<String>, Vec<(String, Vec<String>)>)> {
        let mut tx = self.write_tx().await?;
        let paused: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE batches SET status = 'paused', paused_reason = ?1, updated_at = ?2
             WHERE (status = 'running' OR (status = 'paused' AND paused_reason = ?3))
               AND (SELECT {}) > 0
             RETURNING id",
            super::batches::waiting_of("batches.id")
        )))
        .bind(RESTORED)
        .bind(event::now())
        .bind(super::NO_BLANKS)
        .fetch_all(&mut *tx)
        .await?;
        let patterns: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT pattern FROM blanks WHERE status = 'loaded'")
                .fetch_all(&mut *tx)
                .await?;
        let mut unloaded = Vec::new();
        for (p,) in patterns {
            let u = unload_in(&mut tx, &p, Unload::All).await?;
            if !u.serials.is_empty() {
                unloaded.push((p, u.serials));
            }
        }
        audit_in(&mut tx, actor, "db.restore", Some(from), None).await?;
        tx.commit().await?;
        Ok((paused.into_iter().map(|p| p.0).collect(), unloaded))
    }
}
