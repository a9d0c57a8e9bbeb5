//! The outbox: events written in the same transaction as the change they
//! report, published from here by the MQTT publisher, marked sent on the
//! broker's acknowledgement.

use super::{Result, Store};
use crate::records::event::{self, Event};
use sqlx::{Sqlite, Transaction};

impl Store {
    /// Adds events to a transaction's outbox.
    pub async fn emit(&self, tx: &mut Transaction<'_, Sqlite>, events: &[Event]) -> Result<()> {
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

    /// Events not yet acknowledged by the broker, oldest first.
    pub async fn unsent(&self, limit: i64) -> Result<Vec<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT id, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// An event that can never be published is kept, marked, and skipped.
    pub async fn set_aside(&self, id: i64) -> Result<()> {
        let now = event::now();
        sqlx::query("UPDATE outbox SET sent_at = ?, set_aside_at = ? WHERE id = ?")
            .bind(&now)
            .bind(&now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn mark_sent(&self, ids: &[i64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let now = event::now();
        let mut tx = self.write_tx().await?;
        for id in ids {
            sqlx::query("UPDATE outbox SET sent_at = ? WHERE id = ?")
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
