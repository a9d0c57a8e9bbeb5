//! The station's durable state in SQLite: accepted orders and their print
//! state, the issuance register, and the outbox of events.
//!
//! Every change and the events reporting it commit in one transaction; the
//! MQTT acknowledgement of an order is sent only after that commit.

use crate::event::{self, Event, PrintedFields};
use crate::order::{CardData, ValidOrder};
use crate::photo::Photo;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use thiserror::Error;

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
    #[error("order {order_id} is {status}, not held")]
    NotHeld { order_id: String, status: String },
}

pub type Result<T> = std::result::Result<T, StoreError>;

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
    /// Another order already uses this card number.
    NumberTaken(String),
    /// A cancel for this id came first.
    CancelledEarly,
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
    pub printed: i64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RegisterRow {
    pub card_number: String,
    pub order_id: String,
    pub student_id: String,
    pub last_name: String,
    pub first_names: String,
    pub reason: String,
    pub printed_at: String,
    pub printer_model: String,
    pub printer_serial: String,
    pub batch_id: Option<String>,
    pub operator: Option<String>,
    pub blank_serial: Option<String>,
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
}

impl Store {
    pub async fn open(path: &Path, station: &str) -> Result<Self> {
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // An acknowledged order must survive a power cut.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        sqlx::migrate!().run(&pool).await?;
        Ok(Store {
            pool,
            station: station.to_string(),
        })
    }

    /// A write transaction that takes SQLite's write lock at once: a
    /// deferred one that reads first fails with BUSY, not waits, when another
    /// writer got in between.
    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn emit(&self, tx: &mut Transaction<'_, Sqlite>, events: &[Event]) -> Result<()> {
        for e in events {
            sqlx::query("INSERT INTO outbox (payload, created_at) VALUES (?, ?)")
                .bind(e.to_json(&self.station))
                .bind(event::now())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Records events that change nothing else (rejections).
    pub async fn record_events(&self, events: &[Event]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        self.emit(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues a validated order, idempotently. The events for the outcome
    /// commit with it.
    pub async fn offer(&self, order: &ValidOrder) -> Result<Offer> {
        let d = &order.data;
        let mut tx = self.write_tx().await?;
        let existing: Option<(String,)> =
            sqlx::query_as("SELECT content_sha256 FROM orders WHERE order_id = ?")
                .bind(&d.order_id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((sha,)) = existing {
            return Ok(if sha == order.content_sha256 {
                Offer::Redelivery
            } else {
                Offer::Conflict
            });
        }
        let early: Option<(String,)> =
            sqlx::query_as("SELECT order_id FROM early_cancels WHERE order_id = ?")
                .bind(&d.order_id)
                .fetch_optional(&mut *tx)
                .await?;
        // Both sides are RFC 3339 UTC strings of the same shape.
        let revoked: Option<(String,)> = sqlx::query_as(
            "SELECT revoked_at FROM revocations WHERE student_id = ? AND revoked_at >= ? LIMIT 1",
        )
        .bind(&d.student_id)
        .bind(
            order
                .photo_accepted_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        )
        .fetch_optional(&mut *tx)
        .await?;
        let status = if early.is_some() {
            "cancelled"
        } else if revoked.is_some() {
            "held"
        } else {
            "queued"
        };
        if d.reason == crate::order::Reason::New && early.is_none() {
            let taken: Option<(String,)> = sqlx::query_as(
                "SELECT order_id FROM orders WHERE card_number = ? AND status != 'cancelled'",
            )
            .bind(&d.card_number)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((other,)) = taken {
                return Ok(Offer::NumberTaken(other));
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
                                 data, photo, status, received_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&mut *tx)
        .await?;
        if early.is_some() {
            self.emit(&mut tx, &[Event::cancelled(&d.order_id)]).await?;
            tx.commit().await?;
            return Ok(Offer::CancelledEarly);
        }
        if revoked.is_some() {
            sqlx::query("UPDATE orders SET hold_code = 'photo_revoked', hold_message = ? WHERE order_id = ?")
                .bind(REVOKED)
                .bind(&d.order_id)
                .execute(&mut *tx)
                .await?;
            self.emit(
                &mut tx,
                &[
                    Event::accepted(&d.order_id, &d.card_number),
                    Event::held(&d.order_id, "photo_revoked", REVOKED),
                ],
            )
            .await?;
            tx.commit().await?;
            return Ok(Offer::Accepted);
        }
        self.emit(&mut tx, &[Event::accepted(&d.order_id, &d.card_number)])
            .await?;
        tx.commit().await?;
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

    /// The oldest card waiting to print.
    pub async fn next_queued(&self) -> Result<Option<Queued>> {
        let row = sqlx::query(
            "SELECT seq, order_id, data, photo FROM orders WHERE status = 'queued' AND photo IS NOT NULL ORDER BY seq LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(Self::queued_row).transpose()
    }

    async fn set_status(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
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
    /// this is how the station knows a card may be in the printer.
    pub async fn mark_printing(
        &self,
        order_id: &str,
        printer_model: &str,
        printer_serial: &str,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let ok = self
            .set_status(&mut tx, order_id, "queued", "printing")
            .await?;
        sqlx::query("UPDATE orders SET attempt_printer_model = ?, attempt_printer_serial = ? WHERE order_id = ? AND status = 'printing'")
            .bind(printer_model)
            .bind(printer_serial)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ok)
    }

    /// The operator checked an interrupted card and it came out whole: it is
    /// issued, registered under their name, and not printed again.
    pub async fn confirm_printed(&self, order_id: &str, operator: &str) -> Result<()> {
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
        if status != "held" || code.as_deref() != Some("needs_check") {
            return Err(StoreError::NotHeld {
                order_id: order_id.to_string(),
                status: format!("{status} ({})", code.unwrap_or_default()),
            });
        }
        let fields = PrintedFields {
            card_number,
            printer_model: model.unwrap_or_else(|| "unknown".into()),
            printer_serial: serial.unwrap_or_else(|| "unknown".into()),
            batch_id: None,
            operator: Some(operator.to_string()),
            blank_serial: None,
        };
        sqlx::query("INSERT INTO operator_actions (order_id, action, operator, at) VALUES (?, 'confirm', ?, ?)")
            .bind(order_id)
            .bind(operator)
            .bind(event::now())
            .execute(&mut *tx)
            .await?;
        self.record_printed(&mut tx, order_id, "held", &fields)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The card left the printer: register it, drop what is no longer needed.
    pub async fn mark_printed(&self, order_id: &str, p: &PrintedFields) -> Result<()> {
        let mut tx = self.write_tx().await?;
        self.record_printed(&mut tx, order_id, "printing", p)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Registers a card, but only for an order in state `from`: a card is
    /// never registered twice.
    async fn record_printed(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        order_id: &str,
        from: &str,
        p: &PrintedFields,
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
        sqlx::query(
            "INSERT INTO cards (card_number, order_id, student_id, last_name, first_names, reason,
                                printed_at, printer_model, printer_serial, batch_id, operator, blank_serial)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .bind(&p.blank_serial)
        .execute(&mut **tx)
        .await?;
        data.redact();
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

    /// The printer ruined the blank and did not issue the card: record the
    /// blank as spoiled and queue the card again, first in line.
    pub async fn spoil_and_requeue(
        &self,
        order_id: &str,
        cause: &str,
        message: &str,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let (card_number,): (String,) =
            sqlx::query_as("SELECT card_number FROM orders WHERE order_id = ?")
                .bind(order_id)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO spoiled (order_id, card_number, cause, recorded_at) VALUES (?, ?, ?, ?)",
        )
        .bind(order_id)
        .bind(&card_number)
        .bind(cause)
        .bind(event::now())
        .execute(&mut *tx)
        .await?;
        self.emit(
            &mut tx,
            &[
                Event::failed(order_id, cause, message),
                Event::spoiled(order_id, &card_number, cause),
            ],
        )
        .await?;
        self.back_to_queue(&mut tx, order_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A card that did not print goes back to the queue, unless its photo
    /// was revoked while it was in the printer: then it is held.
    async fn back_to_queue(&self, tx: &mut Transaction<'_, Sqlite>, order_id: &str) -> Result<()> {
        let (has_photo,): (bool,) =
            sqlx::query_as("SELECT photo IS NOT NULL FROM orders WHERE order_id = ?")
                .bind(order_id)
                .fetch_one(&mut **tx)
                .await?;
        if has_photo {
            self.set_status(tx, order_id, "printing", "queued").await?;
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
            self.hold(id, "needs_check", message, &[]).await?;
        }
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    /// An operator's word that a held card may print (again).
    pub async fn release(&self, order_id: &str, operator: &str, spoiled_blank: bool) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let row: Option<(String, String, Option<Vec<u8>>)> =
            sqlx::query_as("SELECT status, card_number, photo FROM orders WHERE order_id = ?")
                .bind(order_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((status, card_number, photo)) = row else {
            return Err(StoreError::NoSuchOrder(order_id.to_string()));
        };
        if status != "held" || photo.is_none() {
            return Err(StoreError::NotHeld {
                order_id: order_id.to_string(),
                status: if photo.is_none() {
                    "without a photo (revoked)".into()
                } else {
                    status
                },
            });
        }
        let now = event::now();
        if spoiled_blank {
            sqlx::query("INSERT INTO spoiled (order_id, card_number, cause, recorded_at, operator) VALUES (?, ?, 'interrupted', ?, ?)")
                .bind(order_id)
                .bind(&card_number)
                .bind(&now)
                .bind(operator)
                .execute(&mut *tx)
                .await?;
            self.emit(
                &mut tx,
                &[Event::spoiled(order_id, &card_number, "interrupted")],
            )
            .await?;
        }
        sqlx::query("INSERT INTO operator_actions (order_id, action, operator, at) VALUES (?, 'release', ?, ?)")
            .bind(order_id)
            .bind(operator)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        self.set_status(&mut tx, order_id, "held", "queued").await?;
        sqlx::query("UPDATE orders SET hold_code = NULL, hold_message = NULL WHERE order_id = ?")
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn cancel(&self, order_id: &str) -> Result<CancelOutcome> {
        let mut tx = self.write_tx().await?;
        let row: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT status, hold_code FROM orders WHERE order_id = ?")
                .bind(order_id)
                .fetch_optional(&mut *tx)
                .await?;
        // A card held for checking may exist: only the operator can say.
        let may_exist = row
            .as_ref()
            .is_some_and(|r| r.0 == "held" && r.1.as_deref() == Some("needs_check"));
        let outcome = match row.as_ref().map(|r| r.0.as_str()) {
            Some("held") if may_exist => {
                self.emit(
                    &mut tx,
                    &[Event::cancel_refused(
                        order_id,
                        "the card may already be printed; it is held for the operator to check",
                    )],
                )
                .await?;
                CancelOutcome::Printing
            }
            None => {
                sqlx::query("INSERT OR IGNORE INTO early_cancels (order_id, at) VALUES (?, ?)")
                    .bind(order_id)
                    .bind(event::now())
                    .execute(&mut *tx)
                    .await?;
                CancelOutcome::Remembered
            }
            Some("printed") => {
                self.emit(
                    &mut tx,
                    &[Event::cancel_refused(
                        order_id,
                        "the card was already printed; a cancel changes nothing on it",
                    )],
                )
                .await?;
                CancelOutcome::AlreadyPrinted
            }
            Some("printing") => {
                self.emit(
                    &mut tx,
                    &[Event::cancel_refused(
                        order_id,
                        "the card is in the printer; a cancel changes nothing on it",
                    )],
                )
                .await?;
                CancelOutcome::Printing
            }
            Some("cancelled") => CancelOutcome::AlreadyCancelled,
            Some(_) => {
                let data: (String,) = sqlx::query_as("SELECT data FROM orders WHERE order_id = ?")
                    .bind(order_id)
                    .fetch_one(&mut *tx)
                    .await?;
                let mut data = Self::card_data(order_id, &data.0)?;
                data.redact();
                sqlx::query("UPDATE orders SET status = 'cancelled', photo = NULL, data = ?, updated_at = ? WHERE order_id = ?")
                    .bind(serde_json::to_string(&data).expect("card data serialises"))
                    .bind(event::now())
                    .bind(order_id)
                    .execute(&mut *tx)
                    .await?;
                self.emit(&mut tx, &[Event::cancelled(order_id)]).await?;
                CancelOutcome::Cancelled
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Deletes every stored copy of a student's photo and holds the orders
    /// that needed it. Returns the held order ids.
    pub async fn revoke_photo(
        &self,
        student_id: &str,
        revoked_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<String>> {
        let mut tx = self.write_tx().await?;
        sqlx::query("INSERT INTO revocations (student_id, revoked_at) VALUES (?, ?)")
            .bind(student_id)
            .bind(revoked_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .execute(&mut *tx)
            .await?;
        // A card already in the printer finishes; if it fails, it is held
        // then (see `back_to_queue`).
        let unprinted: Vec<(String,)> = sqlx::query_as(
            "SELECT order_id FROM orders WHERE student_id = ? AND status IN ('queued', 'held')",
        )
        .bind(student_id)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("UPDATE orders SET photo = NULL, updated_at = ? WHERE student_id = ?")
            .bind(event::now())
            .bind(student_id)
            .execute(&mut *tx)
            .await?;
        let message = REVOKED;
        let mut events = Vec::new();
        for (id,) in &unprinted {
            sqlx::query("UPDATE orders SET status = 'held', hold_code = 'photo_revoked', hold_message = ? WHERE order_id = ? AND status IN ('queued', 'held')")
                .bind(message)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            events.push(Event::held(id, "photo_revoked", message));
        }
        events.push(Event::photo_purged(student_id));
        self.emit(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(unprinted.into_iter().map(|(id,)| id).collect())
    }

    pub async fn counts(&self) -> Result<Counts> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM orders GROUP BY status")
                .fetch_all(&self.pool)
                .await?;
        let mut c = Counts::default();
        for (status, n) in rows {
            match status.as_str() {
                "queued" => c.pending = n,
                "printing" => c.printing = n,
                "held" => c.held = n,
                "printed" => c.printed = n,
                _ => {}
            }
        }
        Ok(c)
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

    pub async fn register(&self) -> Result<Vec<RegisterRow>> {
        let rows = sqlx::query("SELECT * FROM cards ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| RegisterRow {
                card_number: r.get("card_number"),
                order_id: r.get("order_id"),
                student_id: r.get("student_id"),
                last_name: r.get("last_name"),
                first_names: r.get("first_names"),
                reason: r.get("reason"),
                printed_at: r.get("printed_at"),
                printer_model: r.get("printer_model"),
                printer_serial: r.get("printer_serial"),
                batch_id: r.get("batch_id"),
                operator: r.get("operator"),
                blank_serial: r.get("blank_serial"),
            })
            .collect())
    }

    /// Events not yet acknowledged by the broker, oldest first.
    pub async fn unsent(&self, limit: i64) -> Result<Vec<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT id, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn mark_sent(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE outbox SET sent_at = ? WHERE id = ?")
            .bind(event::now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Writes the register as CSV (UTF-8, a header row).
    pub async fn register_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        for row in self.register().await? {
            w.serialize(row)
                .map_err(|e| StoreError::Corrupt("register".into(), e.to_string()))?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| StoreError::Corrupt("register".into(), e.to_string()))?;
        Ok(String::from_utf8(bytes).expect("csv of UTF-8 strings is UTF-8"))
    }
}
