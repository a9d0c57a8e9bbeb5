//! Keeping only what is needed (issue 17): an order that will never print
//! is cut down to what recognises its redelivery; orders not printed within
//! `[retention] order_days` are dropped and answered; the audit log, the
//! sent outbox and old revocations are pruned after `audit_months`.
//!
//! The register (cards, blanks, holograms, spoiled blanks, operator
//! decisions) is a legal record and is never pruned here.

use super::*;
use crate::card::reject::{Code, Rejection};
use crate::records::actor::Actor;

/// What one retention pass removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RetentionRun {
    pub at: String,
    pub orders_expired: i64,
    pub audit_deleted: i64,
    pub outbox_deleted: i64,
}

/// Past passes kept for the page.
const RUNS_KEPT: i64 = 100;

impl Store {
    /// Cuts an order that will never print down to what recognises its
    /// redelivery (its id and content hash) and marks it cancelled. Its
    /// photo, names, dates, class, student id and card number are gone.
    pub(super) async fn forget_order(&self, tx: &mut WriteTx, order_id: &str) -> Result<()> {
        self.unreserve_blank(tx, order_id).await?;
        sqlx::query(
            "UPDATE orders SET status = 'cancelled', photo = NULL, data = '{}', student_id = '',
                    card_number = '', hold_code = NULL, hold_message = NULL, updated_at = ?
              WHERE order_id = ?",
        )
        .bind(event::now())
        .bind(order_id)
        .execute(&mut **tx)
        .await?;
        self.purged();
        Ok(())
    }

    /// The operator ends an order held because its pupil's photo was
    /// revoked: nothing of it is kept but what recognises a redelivery, the
    /// decision is recorded, and the central system is told.
    pub async fn discard_held(&self, order_id: &str, actor: &Actor) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let row: Option<(String, Option<String>, String)> =
            sqlx::query_as("SELECT status, hold_code, student_id FROM orders WHERE order_id = ?")
                .bind(order_id)
                .fetch_optional(&mut *tx)
                .await?;
        match &row {
            Some((status, Some(code), _)) if status == "held" && code == "photo_revoked" => {}
            Some(_) => return Err(StoreError::NotDiscardable(order_id.to_string())),
            None => return Err(StoreError::NoSuchOrder(order_id.to_string())),
        }
        self.forget_order(&mut tx, order_id).await?;
        sqlx::query("INSERT INTO operator_actions (order_id, action, operator, at) VALUES (?, 'discard', ?, ?)")
            .bind(order_id)
            .bind(&actor.name)
            .bind(event::now())
            .execute(&mut *tx)
            .await?;
        accounts::audit_in(&mut tx, actor, "hold.discard", Some(order_id), None).await?;
        self.emit(
            &mut tx,
            &[Event::rejected(
                Some(order_id),
                &Rejection::new(
                    Code::Discarded,
                    None,
                    "the pupil's photo was revoked and the operator discarded the held order; its data is deleted; a new order with a new photo prints the card",
                ),
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Orders received more than `order_days` ago and still not printed are
    /// forgotten and answered (`order.rejected`, code `expired`, and
    /// `photo.purged` where a photo went). A card that may exist
    /// (`needs_check`) or is in the printer stays: only the operator settles it.
    pub async fn expire_orders(&self, order_days: u32) -> Result<i64> {
        let cutoff = (chrono::Utc::now() - chrono::Duration::days(order_days.into()))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let message = format!(
            "not printed within {order_days} days of its arrival: the station deleted its photo and data; send a new order to print the card"
        );
        let mut expired = 0;
        loop {
            // A few hundred at a time: the queue and the page wait for no
            // more than one such transaction.
            let mut tx = self.write_tx().await?;
            let due: Vec<(String, String, bool)> = sqlx::query_as(
                "SELECT order_id, student_id, photo IS NOT NULL FROM orders
                  WHERE (status = 'queued' OR (status = 'held' AND IFNULL(hold_code, '') != 'needs_check'))
                    AND received_at < ? ORDER BY seq LIMIT 500",
            )
            .bind(&cutoff)
            .fetch_all(&mut *tx)
            .await?;
            if due.is_empty() {
                break;
            }
            let mut events = Vec::new();
            for (order_id, student_id, had_photo) in &due {
                self.forget_order(&mut tx, order_id).await?;
                events.push(Event::rejected(
                    Some(order_id),
                    &Rejection::new(Code::Expired, None, &message),
                ));
                if *had_photo {
                    events.push(Event::photo_purged(student_id));
                }
            }
            self.emit(&mut tx, &events).await?;
            tx.commit().await?;
            expired += due.len() as i64;
        }
        Ok(expired)
    }

    /// One retention pass: orders past `order_days`, audit lines, sent
    /// events and revocations past `audit_months`; recorded for the page.
    pub async fn retention_pass(&self, order_days: u32, audit_months: u32) -> Result<RetentionRun> {
        let orders_expired = self.expire_orders(order_days).await?;
        let cutoff = chrono::Utc::now()
            .checked_sub_months(chrono::Months::new(audit_months))
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut tx = self.write_tx().await?;
        let audit_deleted = sqlx::query("DELETE FROM audit WHERE at < ?")
            .bind(&cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected() as i64;
        let outbox_deleted =
            sqlx::query("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?")
                .bind(&cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
        sqlx::query("DELETE FROM revocations WHERE revoked_at < ?")
            .bind(&cutoff)
            .execute(&mut *tx)
            .await?;
        let run = RetentionRun {
            at: event::now(),
            orders_expired,
            audit_deleted,
            outbox_deleted,
        };
        sqlx::query("INSERT INTO retention_runs (at, orders_expired, audit_deleted, outbox_deleted) VALUES (?, ?, ?, ?)")
            .bind(&run.at)
            .bind(run.orders_expired)
            .bind(run.audit_deleted)
            .bind(run.outbox_deleted)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM retention_runs WHERE id <= (SELECT MAX(id) FROM retention_runs) - ?",
        )
        .bind(RUNS_KEPT)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if audit_deleted + outbox_deleted > 0 {
            // Deleted lines hold logins, addresses and events' contents.
            self.purged();
        }
        Ok(run)
    }

    /// The newest retention pass, and the newest that removed anything.
    pub async fn last_retention_runs(
        &self,
    ) -> Result<(Option<RetentionRun>, Option<RetentionRun>)> {
        let one = |r: Option<(String, i64, i64, i64)>| {
            r.map(
                |(at, orders_expired, audit_deleted, outbox_deleted)| RetentionRun {
                    at,
                    orders_expired,
                    audit_deleted,
                    outbox_deleted,
                },
            )
        };
        let last = sqlx::query_as(
            "SELECT at, orders_expired, audit_deleted, outbox_deleted FROM retention_runs ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let removed = sqlx::query_as(
            "SELECT at, orders_expired, audit_deleted, outbox_deleted FROM retention_runs
              WHERE orders_expired + audit_deleted + outbox_deleted > 0 ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok((one(last), one(removed)))
    }
}
