//! Batches: the operator's word that these waiting orders print now, on a
//! stack of blanks whose first serial they typed. A batch is rows, so it
//! survives a crash: the rest of it waits, and the next blank is known.

use super::{Result, Store, StoreError};
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
}

/// What `batch start` takes.
#[derive(Debug, Clone, Default)]
pub struct BatchRequest {
    pub operator: String,
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
    pub created_at: String,
    pub cards: i64,
    pub waiting: i64,
    /// Cards printed: (card number, name, blank serial).
    pub printed_cards: Vec<(String, String, Option<String>)>,
    /// Blanks spoiled: (card number, blank serial, cause).
    pub spoiled: Vec<(String, Option<String>, String)>,
}

impl Store {
    /// Puts waiting orders in a new batch, in arrival order, and loads the
    /// blanks from `first_blank` on, one per card (each must be in stock).
    pub async fn start_batch(&self, r: &BatchRequest) -> Result<(String, usize)> {
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
        tx.commit().await?;
        // The blanks first: a serial not received or used refuses the batch.
        self.load_blanks(&pattern, &r.first_blank, rows.len() as u32, &r.operator)
            .await?;
        let mut tx = self.write_tx().await?;
        let (seq,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) + 1 FROM batches")
            .fetch_one(&mut *tx)
            .await?;
        let id = format!("{}-B{seq:04}", chrono::Utc::now().format("%Y%m%d"));
        let now = event::now();
        sqlx::query(
            "INSERT INTO batches (id, seq, operator, class, pattern, first_blank, cards, status, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
        )
        .bind(&id)
        .bind(seq)
        .bind(&r.operator)
        .bind(&r.class)
        .bind(&pattern)
        .bind(&r.first_blank)
        .bind(rows.len() as i64)
        .bind(&now)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        for (order_id, _) in &rows {
            sqlx::query("INSERT INTO batch_orders (order_id, batch_id) VALUES (?, ?)")
                .bind(order_id)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok((id, rows.len()))
    }

    /// `running` -> `paused` and back; `cancelled` sends the batch's
    /// unprinted orders back to waiting.
    pub async fn set_batch_status(&self, id: &str, to: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let status: Option<(String,)> = sqlx::query_as("SELECT status FROM batches WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((status,)) = status else {
            return Err(BatchError::NoSuchBatch(id.to_string()).into());
        };
        if status == "cancelled" {
            return Err(BatchError::Finished {
                id: id.to_string(),
                status,
            }
            .into());
        }
        sqlx::query("UPDATE batches SET status = ?, updated_at = ? WHERE id = ?")
            .bind(to)
            .bind(event::now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if to == "cancelled" {
            sqlx::query(
                "DELETE FROM batch_orders WHERE batch_id = ?
                 AND order_id IN (SELECT order_id FROM orders WHERE status = 'queued')",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn batches(&self) -> Result<Vec<BatchView>> {
        let ids: Vec<(String,)> = sqlx::query_as("SELECT id FROM batches ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for (id,) in ids {
            out.push(self.batch(&id).await?);
        }
        Ok(out)
    }

    pub async fn batch(&self, id: &str) -> Result<BatchView> {
        let row = sqlx::query(
            "SELECT id, operator, class, pattern, first_blank, status, created_at, cards FROM batches WHERE id = ?",
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
        let (waiting,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM batch_orders bo JOIN orders o ON o.order_id = bo.order_id
             WHERE bo.batch_id = ? AND o.status IN ('queued', 'printing', 'held')",
        )
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
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
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
