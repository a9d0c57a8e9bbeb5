//! The station's durable state in SQLite: accepted orders and their print
//! state, the issuance register, and the outbox of events.
//!
//! Every change and the events reporting it commit in one transaction; the
//! MQTT acknowledgement of an order is sent only after that commit.

use crate::card::order::{CardData, Reason, ValidOrder};
use crate::card::photo::Photo;
use crate::records::actor::Actor;
use crate::records::event::{self, Event, PrintedFields};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

mod accounts;
mod backups;
mod batches;
mod blanks;
mod cards;
mod check;
mod holograms;
mod lists;
mod outbox;
mod register;
mod retention;
mod withdrawals;
pub(crate) use accounts::audit_in;
pub use accounts::{ApiToken, AuditEntry, Session};
pub use backups::{BlanksHeld, Holdings, LastBackup, RESTORED};
pub use batches::{
    BatchError, BatchRequest, BatchSummary, BatchView, QueueMode, Started, NO_BLANKS,
};
pub use blanks::{span, BlankError, BlankRow, BlankStock, Unloaded, LARGE_DELIVERY, MAX_DELIVERY};
pub use cards::{CardError, CardRef, CardSummary};
pub use check::{check_file, schema_version, schema_version_of, Problem};
pub use holograms::{Applied, ClassCards, HologramRow, HologramStock, LARGE_HOLOGRAM_DELIVERY};
pub use lists::{HologramField, OrderLine, RegisterLine};
pub use register::{RegisterEntry, RegisterFilter, RegisterRow, Standing};
pub use retention::RetentionRun;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored order {0} is unreadable: {1}")]
    Corrupt(String, String),
    #[error("no order {0}")]
    NoSuchOrder(String),
    #[error("database file {0}: {1}")]
    Io(String, std::io::Error),
    #[error("order {order_id} is {status}, not held")]
    NotHeld { order_id: String, status: String },
    #[error("order {0} is not held for a revoked photo: only such a hold is discarded (a card that may exist is settled with confirm or release)")]
    NotDiscardable(String),
    #[error("{0}")]
    Hologram(#[from] crate::records::hologram::HologramError),
    #[error("{0}")]
    Blank(#[from] BlankError),
    #[error("{0}")]
    Batch(#[from] BatchError),
    #[error("{0}")]
    Account(#[from] crate::records::account::AccountError),
    #[error("{0}")]
    Card(#[from] CardError),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A write transaction, begun `IMMEDIATE`: several changes that commit (and
/// fail) together.
pub type WriteTx = Transaction<'static, Sqlite>;

/// How long a cancel that arrived before its order is remembered.
const EARLY_CANCEL_DAYS: i64 = 30;

const NEEDS_CHECK: &str = "needs_check";

/// Status, hold code, card number, printer model and serial of an attempt.
type HeldRow = (
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
);

const REVOKED: &str = "the student's photo was revoked; a new accepted photo needs a new order";

/// What happened to an order that was offered to the store.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    Accepted,
    /// The same order again: nothing changes.
    Redelivery,
    /// The same id with other content; the first one stands.
    Conflict,
    /// The card number cannot be this order's: why, in a sentence.
    NumberRefused(String),
    /// A cancel for this id came first.
    CancelledEarly,
}

/// What an operator's release did.
#[derive(Debug, PartialEq, Eq)]
pub enum Released {
    /// The card waits to print again.
    Queued,
    /// Its photo was revoked while it was held: it stays held, for that.
    HeldRevoked,
}

/// What `mark_printing` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Start {
    /// Marked printing, with its blank reserved if it prints on one.
    Started,
    /// No longer queued (cancelled or revoked meanwhile).
    Gone,
    /// Its pattern is on numbered blanks and none is loaded: it waits (a
    /// batch's card pauses its batch for the operator to load more).
    NoBlank,
}

#[derive(Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    Cancelled,
    AlreadyPrinted,
    Printing,
    AlreadyCancelled,
    /// Not seen yet: remembered, so the order is cancelled when it comes.
    Remembered,
}

/// A card waiting for the printer.
#[derive(Clone)]
pub struct Queued {
    pub seq: i64,
    pub data: CardData,
    pub photo: Photo,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending: i64,
    pub printing: i64,
    pub held: i64,
    /// Numbered blanks loaded in the printer, and in the cupboard.
    pub blanks_loaded: i64,
    pub blanks_in_stock: i64,
    /// The last backup made (another process makes them: read each time).
    pub backup: Option<LastBackup>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OrderRow {
    pub seq: i64,
    pub order_id: String,
    pub card_number: String,
    pub student_id: String,
    pub status: String,
    pub hold_code: Option<String>,
    pub hold_message: Option<String>,
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    station: String,
    /// Which queued orders may print: all, or those in a running batch.
    mode: QueueMode,
    /// Set when personal data was deleted and the log still holds it.
    purged: Arc<AtomicBool>,
    /// The day the forms' rules are read on; `None`: today, in Poland.
    today: Option<chrono::NaiveDate>,
}

/// How a store commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// A station: every commit is on disk before it is answered (an
    /// acknowledged order survives a power cut).
    Durable,
    /// Building a test or benchmark database: commits are not flushed, and
    /// a power cut may lose them. Never a station's.
    Bulk,
}

/// Creates the database file readable by its owner only, before SQLite
/// creates it with the process's umask (its -wal and -shm files take the
/// database's mode).
fn create_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |e: std::io::Error| StoreError::Io(path.display().to_string(), e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // An older station created it world-readable.
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                for suffix in ["", "-wal", "-shm"] {
                    let p = format!("{}{suffix}", path.display());
                    if Path::new(&p).exists() {
                        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                            .map_err(io)?;
                    }
                }
            }
            Ok(())
        }
        Err(e) => Err(io(e)),
    }
}

/// Why an order may not carry its card number, if it may not. A new card
/// takes a number no live order has. A duplicate is a copy of a card issued
/// to the same pupil under that number. A replacement under a number in the
/// register replaces that pupil's card; under another number it is a new
/// number. Neither takes over another pupil's number, and one pending
/// duplicate or replacement of a card at a time.
fn number_refused(
    d: &CardData,
    taken: Option<String>,
    original: Option<String>,
    pending: Option<String>,
) -> Option<String> {
    let n = &d.card_number;
    match (d.reason, original) {
        (Reason::New, _) => taken.map(|o| format!("card number {n} is already used by order {o}")),
        (_, Some(student)) if student != d.student_id => Some(format!(
            "card number {n} was issued to another pupil; a {} keeps the pupil's own number",
            d.reason.as_str()
        )),
        (Reason::Duplicate, None) => Some(format!(
            "no card {n} was issued by this station: a duplicate copies an issued card"
        )),
        (Reason::Replacement, None) => {
            taken.map(|o| format!("card number {n} is already used by order {o}"))
        }
        (_, Some(_)) => pending.map(|o| {
            format!("order {o} for card {n} is still waiting to print: one duplicate or replacement at a time")
        }),
    }
}

impl Store {
    pub async fn open(path: &Path, station: &str) -> Result<Self> {
        Self::open_with(path, station, Durability::Durable).await
    }

    pub async fn open_with(path: &Path, station: &str, durability: Durability) -> Result<Self> {
        create_private(path)?;
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // An acknowledged order must survive a power cut.
            .synchronous(match durability {
                Durability::Durable => SqliteSynchronous::Full,
                Durability::Bulk => SqliteSynchronous::Off,
            })
            .busy_timeout(Duration::from_secs(10))
            // A deleted photo or PESEL is overwritten, not left in free pages.
            .pragma("secure_delete", "ON")
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        sqlx::migrate!().run(&pool).await?;
        lists::fill_search(&pool).await?;
        Ok(Store {
            pool,
            station: station.to_string(),
            mode: QueueMode::Auto,
            purged: Arc::new(AtomicBool::new(false)),
            today: None,
        })
    }

    /// The same database, its forms' rules read as on `day` (a school
    /// year's holograms, a batch's date): for building years of records.
    pub fn on_day(mut self, day: chrono::NaiveDate) -> Self {
        self.today = Some(day);
        self
    }

    /// The day the forms' rules are read on: today in Poland, or the day
    /// `on_day` set.
    pub fn today(&self) -> chrono::NaiveDate {
        self.today.unwrap_or_else(crate::records::clock::today)
    }

    /// The same database, printing as `queue.mode` says.
    pub fn mode(&self) -> QueueMode {
        self.mode
    }

    pub fn with_mode(mut self, mode: QueueMode) -> Self {
        self.mode = mode;
        self
    }

    /// A write transaction that takes SQLite's write lock at once: a
    /// deferred one that reads first fails with BUSY, not waits, when another
    /// writer got in between.
    async fn write_tx(&self) -> Result<WriteTx> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    fn purged(&self) {
        self.purged.store(true, Ordering::Relaxed);
    }

    /// Empties the write-ahead log if personal data was deleted since the
    /// last call (see `checkpoint`).
    pub async fn checkpoint_if_purged(&self) -> Result<()> {
        if self.purged.swap(false, Ordering::Relaxed) {
            if let Err(e) = self.checkpoint().await {
                self.purged();
                return Err(e);
            }
        }
        Ok(())
    }

    /// A write transaction for several changes at once (ingest's group commit).
    pub async fn begin(&self) -> Result<WriteTx> {
        self.write_tx().await
    }

    /// Moves the write-ahead log into the database and empties it, so that
    /// bytes deleted from the database (overwritten by `secure_delete`) do
    /// not live on in old log frames.
    pub async fn checkpoint(&self) -> Result<()> {
        // A checkpoint that a reader kept busy answers OK with busy = 1.
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&self.pool)
            .await?;
        if busy != 0 {
            return Err(StoreError::Db(sqlx::Error::Protocol(
                "the checkpoint was kept busy; it is tried again".into(),
            )));
        }
        Ok(())
    }

    /// Queues a validated order, idempotently. The events for the outcome
    /// commit with it.
    pub async fn offer(&self, order: &ValidOrder) -> Result<Offer> {
        let mut tx = self.write_tx().await?;
        let offer = self.offer_in(&mut tx, order).await?;
        tx.commit().await?;
        Ok(offer)
    }

    /// `offer`, as part of a larger transaction.
    pub async fn offer_in(&self, tx: &mut WriteTx, order: &ValidOrder) -> Result<Offer> {
        let d = &order.data;
        // RFC 3339 UTC strings of one shape compare as times.
        let accepted_at = order
            .photo_accepted_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let forgotten = (chrono::Utc::now() - chrono::Duration::days(EARLY_CANCEL_DAYS))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        // Everything the decision needs in one statement: a burst of
        // thousands of orders pays one round trip to the database each.
        /// What an order's decision needs: its stored hash, an early cancel,
        /// a revocation, the live order with its number, the pupil of the
        /// card issued under it, a pending order for that card.
        type Known = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let (existing, early, revoked, taken, original, pending): Known = sqlx::query_as(
            "SELECT
                (SELECT content_sha256 FROM orders WHERE order_id = ?1),
                (SELECT order_id FROM early_cancels WHERE order_id = ?1 AND at >= ?2),
                (SELECT revoked_at FROM revocations WHERE student_id = ?3 AND revoked_at >= ?4 LIMIT 1),
                (SELECT order_id FROM orders WHERE card_number = ?5 AND status != 'cancelled' LIMIT 1),
                (SELECT student_id FROM cards WHERE card_number = ?5 ORDER BY id DESC LIMIT 1),
                (SELECT order_id FROM orders WHERE card_number = ?5
                   AND status IN ('queued', 'printing', 'held') LIMIT 1)",
        )
        .bind(&d.order_id)
        .bind(&forgotten)
        .bind(&d.student_id)
        .bind(&accepted_at)
        .bind(&d.card_number)
        .fetch_one(&mut **tx)
        .await?;
        if let Some(sha) = existing {
            return Ok(if sha == order.content_sha256 {
                Offer::Redelivery
            } else {
                Offer::Conflict
            });
        }
        let status = if early.is_some() {
            "cancelled"
        } else if revoked.is_some() {
            "held"
        } else {
            "queued"
        };
        if early.is_none() {
            if let Some(why) = number_refused(d, taken, original, pending) {
                return Ok(Offer::NumberRefused(why));
            }
        }
        let now = event::now();
        // A cancelled order is kept without its photo and identity number,
        // so that a redelivery of it is known for what it is.
        let (data, photo) = if early.is_some() || revoked.is_some() {
            let mut redacted = d.clone();
            redacted.redact();
            (redacted, None)
        } else {
            (d.clone(), Some(order.photo.jpeg()))
        };
        sqlx::query(
            "INSERT INTO orders (order_id, content_sha256, card_number, student_id, reason, pattern,
                                 data, photo, status, received_at, updated_at, photo_accepted_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&d.order_id)
        .bind(&order.content_sha256)
        .bind(&d.card_number)
        .bind(&d.student_id)
        .bind(d.reason.as_str())
        .bind(&d.pattern)
        .bind(serde_json::to_string(&data).expect("card data serialises"))
        .bind(photo)
        .bind(status)
        .bind(&now)
        .bind(&now)
        .bind(&accepted_at)
        .execute(&mut **tx)
        .await?;
        if early.is_some() {
            // Kept only so that a redelivery is known for what it is.
            self.forget_order(tx, &d.order_id).await?;
            self.emit(tx, &[Event::cancelled(&d.order_id)]).await?;
            return Ok(Offer::CancelledEarly);
        }
        if revoked.is_some() {
            sqlx::query("UPDATE orders SET hold_code = 'photo_revoked', hold_message = ? WHERE order_id = ?")
                .bind(REVOKED)
                .bind(&d.order_id)
                .execute(&mut **tx)
                .await?;
            self.emit(
                tx,
                &[
                    Event::accepted(&d.order_id, &d.card_number),
                    Event::held(&d.order_id, "photo_revoked", REVOKED),
                ],
            )
            .await?;
            return Ok(Offer::Accepted);
        }
        self.emit(tx, &[Event::accepted(&d.order_id, &d.card_number)])
            .await?;
        Ok(Offer::Accepted)
    }

    fn card_data(order_id: &str, json: &str) -> Result<CardData> {
        serde_json::from_str(json)
            .map_err(|e| StoreError::Corrupt(order_id.to_string(), e.to_string()))
    }

    /// Every card waiting to print, oldest first (for proofs).
    pub async fn queued_cards(&self) -> Result<Vec<Queued>> {
        let rows = sqlx::query(
            "SELECT seq, order_id, data, photo FROM orders WHERE status = 'queued' AND photo IS NOT NULL ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Self::queued_row).collect()
    }

    fn queued_row(row: sqlx::sqlite::SqliteRow) -> Result<Queued> {
        let order_id: String = row.get("order_id");
        let data = Self::card_data(&order_id, row.get("data"))?;
        let jpeg: Option<Vec<u8>> = row.get("photo");
        let photo = jpeg
            .ok_or_else(|| StoreError::Corrupt(order_id.clone(), "queued without a photo".into()))
            .and_then(|j| {
                Photo::from_store(j).map_err(|r| StoreError::Corrupt(order_id.clone(), r.message))
            })?;
        Ok(Queued {
            seq: row.get("seq"),
            data,
            photo,
        })
    }

    /// The oldest card waiting to print. A stored order that cannot be read
    /// back is held with the reason, so the cards behind it still print.
    pub async fn next_queued(&self) -> Result<Option<Queued>> {
        loop {
            // The choice first, without the photo: sorting candidates that
            // carry their photos sorted a whole school's photos per card.
            // Columns after the photo in a row (status, hold_code) cost a
            // walk through the photo's pages: the cards held for checking
            // are found once (through the status index), not per candidate.
            // A queued row without its photo is chosen too, and held below
            // as unreadable rather than skipped for ever.
            // What blocks a card is found once, and the card itself from
            // indexes: the first running batch (by when it started) with a
            // queued card that may print, and its first card; else, in auto
            // mode, the first queued card outside batches. With a school's
            // 5,000 orders waiting, checks per candidate cost seconds.
            let next: Option<(Option<i64>, Option<i64>)> = sqlx::query_as(
                "WITH checking AS (SELECT order_id FROM orders
                                   WHERE status = 'held' AND hold_code = 'needs_check'),
                      -- A batch waits while one of its cards may be on a
                      -- blank nobody has checked: the next blank is not known.
                      held_batches AS (SELECT bo.batch_id FROM batch_orders bo
                                       WHERE bo.order_id IN checking),
                      -- So does every card on numbered blanks while a held
                      -- card has one reserved.
                      held_patterns AS (SELECT bl.pattern FROM blanks bl
                                        WHERE bl.status = 'loaded' AND bl.order_id IN checking),
                      -- Patterns accounted on numbered blanks with none loaded
                      -- and free: their cards outside batches wait (a batch's
                      -- card pauses its batch instead: see mark_printing).
                      dry AS (SELECT d.pattern FROM (SELECT DISTINCT pattern FROM blank_deliveries) d
                              WHERE NOT EXISTS (SELECT 1 FROM blanks lb
                                                WHERE lb.pattern = d.pattern AND lb.status = 'loaded'
                                                  AND lb.order_id IS NULL)),
                      -- Batches with a queued card, and their first, from the
                      -- status index and the batch's own.
                      live AS (SELECT bo.batch_id, MIN(q.seq) AS first
                               FROM orders q INDEXED BY orders_status
                               JOIN batch_orders bo ON bo.seq = q.seq
                               WHERE q.status = 'queued' GROUP BY bo.batch_id)
                 SELECT (SELECT l.first FROM live l JOIN batches b ON b.id = l.batch_id
                         WHERE b.status = 'running'
                           AND l.batch_id NOT IN held_batches
                           AND b.pattern NOT IN held_patterns
                         ORDER BY b.seq LIMIT 1),
                        (SELECT q.seq FROM orders q INDEXED BY orders_status
                         WHERE ?1 = 'auto' AND q.status = 'queued'
                           AND NOT EXISTS (SELECT 1 FROM batch_orders bo WHERE bo.seq = q.seq)
                           AND q.pattern NOT IN held_patterns
                           AND q.pattern NOT IN dry
                         ORDER BY q.seq LIMIT 1)",
            )
            .bind(match self.mode {
                QueueMode::Auto => "auto",
                QueueMode::Batch => "batch",
            })
            .fetch_optional(&self.pool)
            .await?;
            let Some(seq) = next.and_then(|(batch, loose)| batch.or(loose)) else {
                return Ok(None);
            };
            let row = sqlx::query(
                "SELECT seq, order_id, data, photo FROM orders WHERE seq = ? AND status = 'queued'",
            )
            .bind(seq)
            .fetch_optional(&self.pool)
            .await?;
            // Taken meanwhile (a cancel): choose again.
            let Some(row) = row else { continue };
            match Self::queued_row(row) {
                Ok(q) => return Ok(Some(q)),
                Err(StoreError::Corrupt(order_id, why)) => {
                    tracing::error!(%order_id, error = %why, "stored order unreadable; held");
                    self.hold(
                        &order_id,
                        "stored_order_unreadable",
                        "the station cannot read this order back from its database; send it again as a new order",
                        &[],
                    )
                    .await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn set_status(
        &self,
        tx: &mut WriteTx,
        order_id: &str,
        from: &str,
        to: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE orders SET status = ?, updated_at = ? WHERE order_id = ? AND status = ?",
        )
        .bind(to)
        .bind(event::now())
        .bind(order_id)
        .bind(from)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Committed before the first byte goes to the printer: after a crash,
    /// this is how the station knows a card may be in the printer. A card
    /// on numbered blanks reserves the first one loaded, in the same
    /// transaction; with none loaded it does not start (and a batch's card
    /// pauses its batch for the operator).
    pub async fn mark_printing(
        &self,
        order_id: &str,
        printer_model: &str,
        printer_serial: &str,
    ) -> Result<Start> {
        let mut tx = self.write_tx().await?;
        if !self
            .set_status(&mut tx, order_id, "queued", "printing")
            .await?
        {
            return Ok(Start::Gone);
        }
        let (pattern,): (String,) = sqlx::query_as("SELECT pattern FROM orders WHERE order_id = ?")
            .bind(order_id)
            .fetch_one(&mut *tx)
            .await?;
        let batch = self.batch_of(&mut tx, order_id).await?;
        let reserved = self.reserve_blank(&mut tx, &pattern, order_id).await?;
        if !reserved && (batch.is_some() || self.accounted(&mut tx, &pattern).await?) {
            tx.rollback().await?;
            if let Some((batch, _)) = batch {
                self.pause_for_blanks(&batch, &pattern).await?;
            }
            return Ok(Start::NoBlank);
        }
        sqlx::query("UPDATE orders SET attempt_printer_model = ?, attempt_printer_serial = ? WHERE order_id = ?")
            .bind(printer_model)
            .bind(printer_serial)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Start::Started)
    }

    /// The operator checked an interrupted card and it came out whole: it is
    /// issued, registered under their name, and not printed again. It is
    /// registered on the blank it reserved when it started; a card that
    /// reserved none on the serial the operator read off it (`blank`), or
    /// without one.
    pub async fn confirm_printed(
        &self,
        order_id: &str,
        actor: &Actor,
        blank: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let row: Option<HeldRow> = sqlx::query_as(
            "SELECT status, hold_code, card_number, attempt_printer_model, attempt_printer_serial FROM orders WHERE order_id = ?",
        )
        .bind(order_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((status, code, card_number, model, serial)) = row else {
            return Err(StoreError::NoSuchOrder(order_id.to_string()));
        };
        if status != "held" || code.as_deref() != Some(NEEDS_CHECK) {
            return Err(StoreError::NotHeld {
                order_id: order_id.to_string(),
                status: format!("{status} ({})", code.unwrap_or_default()),
            });
        }
        let blank = self
            .use_blank(&mut tx, order_id, blank, "printed", None)
            .await?;
        let fields = PrintedFields {
            card_number,
            printer_model: model.unwrap_or_else(|| "unknown".into()),
            printer_serial: serial.unwrap_or_else(|| "unknown".into()),
            batch_id: None,
            operator: Some(actor.name.clone()),
            blank_pattern: blank.as_ref().map(|b| b.0.clone()),
            blank_serial: blank.map(|b| b.1),
        };
        sqlx::query("INSERT INTO operator_actions (order_id, action, operator, at) VALUES (?, 'confirm', ?, ?)")
            .bind(order_id)
            .bind(&actor.name)
            .bind(event::now())
            .execute(&mut *tx)
            .await?;
        self.record_printed(&mut tx, order_id, "held", &fields, true)
            .await?;
        audit_in(
            &mut tx,
            actor,
            "hold.potwierdz",
            Some(order_id),
            fields.blank_serial.as_deref(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The card left the printer: register it on the blank it reserved,
    /// drop what is no longer needed.
    pub async fn mark_printed(&self, order_id: &str, p: &PrintedFields) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let blank = self
            .use_blank(&mut tx, order_id, None, "printed", None)
            .await?;
        let mut p = p.clone();
        p.blank_pattern = blank.as_ref().map(|b| b.0.clone());
        p.blank_serial = blank.map(|b| b.1);
        self.record_printed(&mut tx, order_id, "printing", &p, false)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Registers a card, but only for an order in state `from`: a card is
    /// never registered twice. A batch's card names its batch, and its
    /// operator unless an operator confirmed it by hand.
    async fn record_printed(
        &self,
        tx: &mut WriteTx,
        order_id: &str,
        from: &str,
        p: &PrintedFields,
        confirmed: bool,
    ) -> Result<()> {
        let row = sqlx::query("SELECT data, status FROM orders WHERE order_id = ?")
            .bind(order_id)
            .fetch_one(&mut **tx)
            .await?;
        let status: String = row.get("status");
        if status != from {
            return Err(StoreError::NotHeld {
                order_id: order_id.to_string(),
                status,
            });
        }
        let mut data = Self::card_data(order_id, row.get("data"))?;
        let mut p = p.clone();
        if let Some((batch, operator)) = self.batch_of(tx, order_id).await? {
            p.batch_id = Some(batch);
            if !confirmed {
                p.operator = Some(operator);
            }
        }
        let p = &p;
        sqlx::query(
            "INSERT INTO cards (card_number, order_id, student_id, last_name, first_names, reason,
                                printed_at, printer_model, printer_serial, batch_id, operator,
                                blank_pattern, blank_serial, class, issue_date, birth_date, search)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&p.card_number)
        .bind(order_id)
        .bind(&data.student_id)
        .bind(&data.last_name)
        .bind(&data.first_names)
        .bind(data.reason.as_str())
        .bind(event::now())
        .bind(&p.printer_model)
        .bind(&p.printer_serial)
        .bind(&p.batch_id)
        .bind(&p.operator)
        .bind(&p.blank_pattern)
        .bind(&p.blank_serial)
        .bind(&data.class)
        .bind(data.issue_date.to_string())
        .bind(data.birth_date.to_string())
        .bind(lists::search_text(
            &data.last_name,
            &data.first_names,
            &p.card_number,
            data.class.as_deref(),
        ))
        .execute(&mut **tx)
        .await?;
        data.redact();
        self.purged();
        sqlx::query("UPDATE orders SET status = 'printed', photo = NULL, data = ?, hold_code = NULL, hold_message = NULL, updated_at = ? WHERE order_id = ? AND status = ?")
            .bind(serde_json::to_string(&data).expect("card data serialises"))
            .bind(event::now())
            .bind(order_id)
            .bind(from)
            .execute(&mut **tx)
            .await?;
        self.emit(tx, &[Event::printed(order_id, p)]).await?;
        Ok(())
    }

    /// Stops an order for an operator, with the events that say why.
    pub async fn hold(
        &self,
        order_id: &str,
        code: &str,
        message: &str,
        extra: &[Event],
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE orders SET status = 'held', hold_code = ?, hold_message = ?, updated_at = ? WHERE order_id = ? AND status IN ('queued', 'printing')")
            .bind(code)
            .bind(message)
            .bind(event::now())
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        let mut events = extra.to_vec();
        events.push(Event::held(order_id, code, message));
        self.emit(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the blank a card spoiled (the one it reserved, or the one the
    /// operator typed, or none known), with its events.
    async fn record_spoiled(
        &self,
        tx: &mut WriteTx,
        order_id: &str,
        typed: Option<&str>,
        cause: &str,
        operator: Option<&str>,
    ) -> Result<Option<(String, String)>> {
        let (card_number,): (String,) =
            sqlx::query_as("SELECT card_number FROM orders WHERE order_id = ?")
                .bind(order_id)
                .fetch_one(&mut **tx)
                .await?;
        let blank = self
            .use_blank(tx, order_id, typed, "spoiled", Some(cause))
            .await?;
        let (pattern, serial) = (
            blank.as_ref().map(|b| b.0.as_str()),
            blank.as_ref().map(|b| b.1.as_str()),
        );
        sqlx::query(
            "INSERT INTO spoiled (order_id, card_number, blank_pattern, blank_serial, cause, recorded_at, operator)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(order_id)
        .bind(&card_number)
        .bind(pattern)
        .bind(serial)
        .bind(cause)
        .bind(event::now())
        .bind(operator)
        .execute(&mut **tx)
        .await?;
        self.emit(
            tx,
            &[Event::spoiled(
                order_id,
                &card_number,
                pattern,
                serial,
                cause,
            )],
        )
        .await?;
        Ok(blank)
    }

    /// The printer ruined the blank and did not issue the card: record the
    /// blank as spoiled and queue the card again, first in line.
    pub async fn spoil_and_requeue(
        &self,
        order_id: &str,
        cause: &str,
        message: &str,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        self.emit(&mut tx, &[Event::failed(order_id, cause, message)])
            .await?;
        self.record_spoiled(&mut tx, order_id, None, cause, None)
            .await?;
        self.back_to_queue(&mut tx, order_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A card that did not print goes back to the queue, unless its photo
    /// was revoked while it was in the printer: then it is held.
    async fn back_to_queue(&self, tx: &mut WriteTx, order_id: &str) -> Result<()> {
        self.unreserve_blank(tx, order_id).await?;
        let (has_photo,): (bool,) =
            sqlx::query_as("SELECT photo IS NOT NULL FROM orders WHERE order_id = ?")
                .bind(order_id)
                .fetch_one(&mut **tx)
                .await?;
        if has_photo {
            self.set_status(tx, order_id, "printing", "queued").await?;
            self.leave_cancelled_batch(tx, order_id).await?;
            return Ok(());
        }
        let message = REVOKED;
        sqlx::query("UPDATE orders SET status = 'held', hold_code = 'photo_revoked', hold_message = ?, updated_at = ? WHERE order_id = ? AND status = 'printing'")
            .bind(message)
            .bind(event::now())
            .bind(order_id)
            .execute(&mut **tx)
            .await?;
        self.emit(tx, &[Event::held(order_id, "photo_revoked", message)])
            .await
    }

    /// Blanks recorded as spoiled.
    pub async fn spoiled_count(&self) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM spoiled")
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    /// Puts a card that never reached the printer back in the queue.
    pub async fn requeue(&self, order_id: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        self.back_to_queue(&mut tx, order_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// At start-up: a card left `printing` by a crash may or may not be on a
    /// blank. It is never printed again without an operator.
    pub async fn hold_interrupted(&self) -> Result<Vec<String>> {
        let ids: Vec<(String,)> =
            sqlx::query_as("SELECT order_id FROM orders WHERE status = 'printing'")
                .fetch_all(&self.pool)
                .await?;
        let message =
            "printing was interrupted; check the printer and the blank, then release or spoil it";
        for (id,) in &ids {
            self.hold(id, NEEDS_CHECK, message, &[]).await?;
        }
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    /// An operator's word that a held card may print (again). With
    /// `spoiled_blank`, the card started and ruined its blank (the one it
    /// reserved, or the one the operator read off it: `blank`); only a card
    /// held for checking can have used one.
    pub async fn release(
        &self,
        order_id: &str,
        actor: &Actor,
        spoiled_blank: bool,
        blank: Option<&str>,
    ) -> Result<Released> {
        let mut tx = self.write_tx().await?;
        let row: Option<(String, bool, Option<String>)> = sqlx::query_as(
            "SELECT status, photo IS NOT NULL, hold_code FROM orders WHERE order_id = ?",
        )
        .bind(order_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((status, has_photo, code)) = row else {
            return Err(StoreError::NoSuchOrder(order_id.to_string()));
        };
        let checking = status == "held" && code.as_deref() == Some(NEEDS_CHECK);
        // A card held for checking whose photo was revoked meanwhile: the
        // operator's word settles the blank, but nothing prints without a
        // photo.
        let revoked_check = checking && !has_photo;
        if status != "held" || (!has_photo && !revoked_check) {
            return Err(StoreError::NotHeld {
                order_id: order_id.to_string(),
                status: if !has_photo {
                    "without a photo (revoked)".into()
                } else {
                    status
                },
            });
        }
        if (spoiled_blank || blank.is_some()) && !checking {
            return Err(BlankError::NeverStarted {
                order_id: order_id.to_string(),
                code: code.unwrap_or_default(),
            }
            .into());
        }
        let now = event::now();
        if spoiled_blank {
            self.record_spoiled(&mut tx, order_id, blank, "interrupted", Some(&actor.name))
                .await?;
        }
        sqlx::query("INSERT INTO operator_actions (order_id, action, operator, at) VALUES (?, 'release', ?, ?)")
            .bind(order_id)
            .bind(&actor.name)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        let action = if spoiled_blank {
            "hold.zepsuty"
        } else {
            "hold.ponow"
        };
        audit_in(&mut tx, actor, action, Some(order_id), None).await?;
        // Not spoiled: the blank it was to use never left the feeder.
        self.unreserve_blank(&mut tx, order_id).await?;
        if revoked_check {
            sqlx::query("UPDATE orders SET hold_code = 'photo_revoked', hold_message = ?, updated_at = ? WHERE order_id = ?")
                .bind(REVOKED)
                .bind(&now)
                .bind(order_id)
                .execute(&mut *tx)
                .await?;
            self.emit(&mut tx, &[Event::held(order_id, "photo_revoked", REVOKED)])
                .await?;
            tx.commit().await?;
            return Ok(Released::HeldRevoked);
        }
        self.set_status(&mut tx, order_id, "held", "queued").await?;
        sqlx::query("UPDATE orders SET hold_code = NULL, hold_message = NULL WHERE order_id = ?")
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        self.leave_cancelled_batch(&mut tx, order_id).await?;
        tx.commit().await?;
        Ok(Released::Queued)
    }

    /// The queue and the blanks, for the state report (twice a card): from
    /// indexes only, never a walk through the register's rows.
    pub async fn counts(&self) -> Result<Counts> {
        let (pending, printing, held, loaded, in_stock): (i64, i64, i64, i64, i64) =
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM orders WHERE status = 'queued'),
                        (SELECT COUNT(*) FROM orders WHERE status = 'printing'),
                        (SELECT COUNT(*) FROM orders WHERE status = 'held'),
                        (SELECT COUNT(*) FROM blanks WHERE status = 'loaded'),
                        (SELECT COUNT(*) FROM blanks WHERE status = 'stock')",
            )
            .fetch_one(&self.pool)
            .await?;
        Ok(Counts {
            pending,
            printing,
            held,
            blanks_loaded: loaded,
            blanks_in_stock: in_stock,
            backup: self.last_backup().await?,
        })
    }

    pub async fn orders(&self) -> Result<Vec<OrderRow>> {
        let rows = sqlx::query("SELECT seq, order_id, card_number, student_id, status, hold_code, hold_message FROM orders ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| OrderRow {
                seq: r.get("seq"),
                order_id: r.get("order_id"),
                card_number: r.get("card_number"),
                student_id: r.get("student_id"),
                status: r.get("status"),
                hold_code: r.get("hold_code"),
                hold_message: r.get("hold_message"),
            })
            .collect())
    }
}
