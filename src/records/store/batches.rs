//! Batches: the operator's word that these waiting orders print now, on a
//! stack of blanks whose first serial they typed. A batch is rows, so it
//! survives a crash: the rest of it waits, and the next blank is known.

use super::blanks::{load_in, unload_in, BlankError, Unload, Unloaded};
use super::{audit_in, Result, Store, StoreError, WriteTx};
use crate::records::actor::Actor;
use crate::records::event;
use serde::Deserialize;
use sqlx::Row;
use thiserror::Error;

/// Whether accepted orders print as they come or wait for a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueMode {
    /// Every accepted order prints as it comes (blanks from `blanks load`).
    #[default]
    Auto,
    /// Orders wait until an operator puts them in a batch.
    Batch,
}

#[derive(Debug, Error, PartialEq)]
pub enum BatchError {
    #[error("no waiting orders{0}")]
    NothingWaiting(String),
    #[error("the orders are on different blank patterns ({0}): start one batch per pattern")]
    MixedPatterns(String),
    #[error("no batch {0}")]
    NoSuchBatch(String),
    #[error("batch {id} is {status}")]
    Finished { id: String, status: String },
    #[error("blanks {pattern} {loaded} are recorded in the printer's feeder: start the batch from {first_loaded} (the stack there), or from the blank after the last of them (a stack put in behind), or take them out and record it first (legitka blanks unload --pattern {pattern})")]
    OtherStackLoaded {
        pattern: String,
        loaded: String,
        first_loaded: String,
    },
}

/// Why a batch paused by itself.
pub const NO_BLANKS: &str = "no_blanks";

/// What `batch start` takes.
#[derive(Debug, Clone, Default)]
pub struct BatchRequest {
    pub first_blank: String,
    pub class: Option<String>,
    pub orders: Vec<String>,
    pub limit: Option<u32>,
}

/// A batch as the operator sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchView {
    pub id: String,
    pub operator: String,
    pub class: Option<String>,
    pub pattern: String,
    pub first_blank: String,
    pub status: String,
    /// Why it paused by itself (`no_blanks`), if it did.
    pub paused_reason: Option<String>,
    pub created_at: String,
    pub cards: i64,
    pub waiting: i64,
    /// Cards printed: (card number, name, blank serial).
    pub printed_cards: Vec<(String, String, Option<String>)>,
    /// Blanks spoiled: (card number, blank serial, cause).
    pub spoiled: Vec<(String, Option<String>, String)>,
}

impl BatchView {
    /// The blanks the batch used, printed on and spoiled, in serial order.
    pub fn blanks_used(&self) -> Vec<String> {
        let mut used: Vec<String> = self
            .printed_cards
            .iter()
            .filter_map(|(_, _, s)| s.clone())
            .chain(self.spoiled.iter().filter_map(|(_, s, _)| s.clone()))
            .collect();
        used.sort_by_key(|s| (s.len(), s.clone()));
        used
    }
}

/// A batch's cards still to print (queued, in the printer, held): counted
/// from the status index, not from orders' rows, whose status lies behind
/// the photo of each of the thousands waiting.
pub(super) fn waiting_of(batch: &str) -> String {
    format!(
        "COUNT(*) FROM orders w
         WHERE w.status IN ('queued', 'printing', 'held')
           AND w.seq IN (SELECT bo.seq FROM batch_orders bo WHERE bo.batch_id = {batch})"
    )
}

/// A batch in a list: what it is and how far it got.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct BatchSummary {
    pub id: String,
    pub operator: String,
    pub class: Option<String>,
    pub pattern: String,
    pub first_blank: String,
    pub status: String,
    pub paused_reason: Option<String>,
    pub created_at: String,
    pub cards: i64,
    pub printed: i64,
    pub spoiled: i64,
    pub waiting: i64,
}

/// What a started batch loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub id: String,
    pub cards: usize,
    /// Blanks of the stack already in the feeder that the batch goes on with.
    pub kept: Vec<String>,
    /// Blanks loaded for it now, behind those.
    pub loaded: Vec<String>,
}

impl Store {
    /// Puts waiting orders in a new batch, in arrival order, on the stack
    /// whose first blank is `first_blank`: one blank per card, each in
    /// stock, or already loaded if the stack in the feeder starts there.
    /// One transaction: a batch exists with its blanks loaded, or neither.
    pub async fn start_batch(&self, r: &BatchRequest, actor: &Actor) -> Result<Started> {
        let mut tx = self.write_tx().await?;
        let mut rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT order_id, pattern FROM orders
             WHERE status = 'queued' AND photo IS NOT NULL
               AND order_id NOT IN (SELECT order_id FROM batch_orders)
               AND (?1 IS NULL OR json_extract(data, '$.class') = ?1)
             ORDER BY seq",
        )
        .bind(&r.class)
        .fetch_all(&mut *tx)
        .await?;
        if !r.orders.is_empty() {
            rows.retain(|(id, _)| r.orders.contains(id));
        }
        if let Some(n) = r.limit {
            rows.truncate(n as usize);
        }
        if rows.is_empty() {
            let of = match &r.class {
                Some(c) => format!(" in class {c}"),
                None if !r.orders.is_empty() => " among the orders named".into(),
                None => String::new(),
            };
            return Err(BatchError::NothingWaiting(of).into());
        }
        let mut patterns: Vec<&str> = rows.iter().map(|(_, p)| p.as_str()).collect();
        patterns.sort();
        patterns.dedup();
        if patterns.len() > 1 {
            return Err(BatchError::MixedPatterns(patterns.join(", ")).into());
        }
        let pattern = patterns[0].to_string();
        let first = r.first_blank.trim();
        // The feeder as recorded: a stack left from before (a batch that
        // ended with blanks to spare) is what the printer feeds first.
        let free: Vec<String> = self
            .loaded_blanks_in(&mut tx, &pattern)
            .await?
            .into_iter()
            .filter_map(|(s, reserved)| reserved.is_none().then_some(s))
            .collect();
        let (seq,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) + 1 FROM batches")
            .fetch_one(&mut *tx)
            .await?;
        let id = format!("{}-B{seq:04}", self.today().format("%Y%m%d"));
        let n = rows.len() as u32;
        let next_after = |s: &str| -> Result<String> {
            Ok(crate::records::serial::range(s, 2)
                .map_err(BlankError::from)?
                .remove(1))
        };
        let (kept, loaded) = match (free.first(), free.last()) {
            (None, _) | (_, None) => (
                Vec::new(),
                load_in(&mut tx, &pattern, first, n, &actor.name, Some(&id)).await?,
            ),
            // The stack in the feeder starts here: the batch goes on with
            // it, topped up behind with the serials that follow.
            (Some(head), Some(last)) if head == first => {
                sqlx::query(
                    "UPDATE blanks SET batch_id = ? WHERE pattern = ? AND status = 'loaded' AND order_id IS NULL",
                )
                .bind(&id)
                .bind(&pattern)
                .execute(&mut *tx)
                .await?;
                let need = n.saturating_sub(free.len() as u32);
                let more = if need == 0 {
                    Vec::new()
                } else {
                    load_in(
                        &mut tx,
                        &pattern,
                        &next_after(last)?,
                        need,
                        &actor.name,
                        Some(&id),
                    )
                    .await?
                };
                (free.clone(), more)
            }
            // A stack put in behind the one there: the printer feeds those
            // first, so the batch's cards come after them.
            (Some(_), Some(last)) if next_after(last)? == first => (
                free.clone(),
                load_in(&mut tx, &pattern, first, n, &actor.name, Some(&id)).await?,
            ),
            (Some(head), _) => {
                return Err(BatchError::OtherStackLoaded {
                    loaded: super::span(&free),
                    first_loaded: head.clone(),
                    pattern,
                }
                .into())
            }
        };
        let now = event::now();
        sqlx::query(
            "INSERT INTO batches (id, seq, operator, class, pattern, first_blank, cards, status, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
        )
        .bind(&id)
        .bind(seq)
        .bind(&actor.name)
        .bind(&r.class)
        .bind(&pattern)
        .bind(first)
        .bind(rows.len() as i64)
        .bind(&now)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        for (order_id, _) in &rows {
            sqlx::query(
                "INSERT INTO batch_orders (order_id, batch_id, seq)
                 SELECT order_id, ?, seq FROM orders WHERE order_id = ?",
            )
            .bind(&id)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        }
        audit_in(
            &mut tx,
            actor,
            "batch.start",
            Some(&id),
            Some(&format!("{} kart, druki od nr {first}", rows.len())),
        )
        .await?;
        tx.commit().await?;
        Ok(Started {
            id,
            cards: rows.len(),
            kept,
            loaded,
        })
    }

    /// `running` -> `paused` and back; `cancelled` sends the batch's
    /// unprinted orders back to waiting and unloads its unused blanks (the
    /// operator takes them out). A card in the printer or held for
    /// checking stays the batch's until it is settled: if it printed, it
    /// printed in this batch.
    pub async fn set_batch_status(
        &self,
        id: &str,
        to: &str,
        actor: &Actor,
    ) -> Result<Option<Unloaded>> {
        let mut tx = self.write_tx().await?;
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT status, pattern FROM batches WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((status, pattern)) = row else {
            return Err(BatchError::NoSuchBatch(id.to_string()).into());
        };
        if status == "cancelled" {
            return Err(BatchError::Finished {
                id: id.to_string(),
                status,
            }
            .into());
        }
        sqlx::query(
            "UPDATE batches SET status = ?, paused_reason = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(to)
        .bind(event::now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let mut unloaded = None;
        if to == "cancelled" {
            sqlx::query(
                "DELETE FROM batch_orders WHERE batch_id = ?
                 AND order_id IN (SELECT order_id FROM orders
                                  WHERE status = 'queued'
                                     OR (status = 'held' AND IFNULL(hold_code, '') != 'needs_check'))",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            unloaded = Some(unload_in(&mut tx, &pattern, Unload::LeftBy(id)).await?);
        }
        let action = match to {
            "paused" => "batch.pause",
            "running" => "batch.resume",
            _ => "batch.cancel",
        };
        let detail = unloaded
            .as_ref()
            .filter(|u| !u.serials.is_empty())
            .map(|u| format!("wyjęte druki {pattern} {}", super::span(&u.serials)));
        audit_in(&mut tx, actor, action, Some(id), detail.as_deref()).await?;
        tx.commit().await?;
        Ok(unloaded)
    }

    /// The batch's next card found no blank loaded: the batch waits for the
    /// operator instead of printing one without a serial.
    pub(super) async fn pause_for_blanks(&self, batch: &str, pattern: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE batches SET status = 'paused', paused_reason = ?, updated_at = ?
             WHERE id = ? AND status = 'running'",
        )
        .bind(NO_BLANKS)
        .bind(event::now())
        .bind(batch)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 1 {
            tracing::warn!(%batch, %pattern, "batch paused: no blank loaded for its next card");
        }
        tx.commit().await?;
        Ok(())
    }

    /// An order back in the queue leaves a batch that was cancelled while
    /// it was in the printer or held: it waits like any other, free to join
    /// another batch.
    pub(super) async fn leave_cancelled_batch(
        &self,
        tx: &mut WriteTx,
        order_id: &str,
    ) -> Result<()> {
        sqlx::query(
            "DELETE FROM batch_orders WHERE order_id = ?
             AND batch_id IN (SELECT id FROM batches WHERE status = 'cancelled')",
        )
        .bind(order_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn loaded_blanks_in(
        &self,
        tx: &mut WriteTx,
        pattern: &str,
    ) -> Result<Vec<(String, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT serial, order_id FROM blanks WHERE pattern = ? AND status = 'loaded'
             ORDER BY load_seq",
        )
        .bind(pattern)
        .fetch_all(&mut **tx)
        .await?)
    }

    /// Batches newest first with their counts, `limit` of them after
    /// `offset`; with `live`, only those with cards still to print. One
    /// statement, each count from indexes: a decade holds thousands.
    pub async fn batch_summaries(
        &self,
        live: bool,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<BatchSummary>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH live AS (SELECT DISTINCT bo.batch_id AS id
                           FROM orders o INDEXED BY orders_status
                           JOIN batch_orders bo ON bo.seq = o.seq
                           WHERE o.status IN ('queued', 'printing', 'held'))
             SELECT b.id, b.operator, b.class, b.pattern, b.first_blank, b.status, b.paused_reason,
                    b.created_at, b.cards,
                    (SELECT COUNT(*) FROM batch_orders bo JOIN cards c ON c.order_id = bo.order_id
                      WHERE bo.batch_id = b.id) AS printed,
                    (SELECT COUNT(*) FROM batch_orders bo JOIN spoiled s ON s.order_id = bo.order_id
                      WHERE bo.batch_id = b.id) AS spoiled,
                    (SELECT {}) AS waiting
             FROM batches b
             WHERE (?1 = 0 OR b.id IN live)
             ORDER BY b.seq DESC LIMIT ?2 OFFSET ?3",
            waiting_of("b.id")
        )))
        .bind(live)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn batch(&self, id: &str) -> Result<BatchView> {
        let row = sqlx::query(
            "SELECT id, operator, class, pattern, first_blank, status, paused_reason, created_at, cards
             FROM batches WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::from(BatchError::NoSuchBatch(id.to_string())))?;
        let printed_cards: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT c.card_number, c.last_name || ' ' || c.first_names, c.blank_serial
             FROM cards c JOIN batch_orders bo ON bo.order_id = c.order_id
             WHERE bo.batch_id = ? ORDER BY c.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let spoiled: Vec<(String, Option<String>, String)> = sqlx::query_as(
            "SELECT s.card_number, s.blank_serial, s.cause
             FROM spoiled s JOIN batch_orders bo ON bo.order_id = s.order_id
             WHERE bo.batch_id = ? ORDER BY s.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let (waiting,): (i64,) =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {}", waiting_of("?"))))
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
        Ok(BatchView {
            id: row.get("id"),
            operator: row.get("operator"),
            class: row.get("class"),
            pattern: row.get("pattern"),
            first_blank: row.get("first_blank"),
            status: row.get("status"),
            paused_reason: row.get("paused_reason"),
            created_at: row.get("created_at"),
            cards: row.get("cards"),
            waiting,
            printed_cards,
            spoiled,
        })
    }

    /// The batch and its operator for an order in one, if any.
    pub(super) async fn batch_of(
        &self,
        tx: &mut WriteTx,
        order_id: &str,
    ) -> Result<Option<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT b.id, b.operator FROM batch_orders bo JOIN batches b ON b.id = bo.batch_id WHERE bo.order_id = ?",
        )
        .bind(order_id)
        .fetch_optional(&mut **tx)
        .await?)
    }
}
