//! The blanks register: deliveries of numbered blanks, the stack loaded in
//! the printer, and what became of every serial. The queue takes the loaded
//! blanks in turn: the card printed records the serial it used, and so does
//! a blank the printer spoiled.

use super::{Result, Store, WriteTx};
use crate::records::event;
use sqlx::Row;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum BlankError {
    #[error(transparent)]
    Serial(#[from] crate::records::serial::SerialError),
    #[error("blank {pattern} {serial} was already received")]
    AlreadyReceived { pattern: String, serial: String },
    #[error("blank {pattern} {serial} was never received: record its delivery first (legitka blanks receive)")]
    NotReceived { pattern: String, serial: String },
    #[error("blank {pattern} {serial} is already {status}")]
    Used {
        pattern: String,
        serial: String,
        status: String,
    },
    #[error("{0:?} is neither destroyed nor returned")]
    Disposal(String),
}

/// Blanks of one pattern by what became of them.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BlankStock {
    pub pattern: String,
    pub received: i64,
    pub in_stock: i64,
    pub loaded: i64,
    pub printed: i64,
    pub spoiled: i64,
    pub destroyed: i64,
    pub returned: i64,
}

impl Store {
    /// Records a delivery. A serial received before refuses the whole
    /// delivery: a typo must not create blanks that do not exist.
    pub async fn receive_blanks(
        &self,
        pattern: &str,
        first: &str,
        count: u32,
        operator: &str,
    ) -> Result<Vec<String>> {
        let serials = crate::records::serial::range(first, count).map_err(BlankError::from)?;
        let mut tx = self.write_tx().await?;
        for s in &serials {
            let known: Option<(String,)> =
                sqlx::query_as("SELECT status FROM blanks WHERE pattern = ? AND serial = ?")
                    .bind(pattern)
                    .bind(s)
                    .fetch_optional(&mut *tx)
                    .await?;
            if known.is_some() {
                return Err(BlankError::AlreadyReceived {
                    pattern: pattern.into(),
                    serial: s.clone(),
                }
                .into());
            }
        }
        let delivery = sqlx::query(
            "INSERT INTO blank_deliveries (pattern, first, count, operator, received_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(pattern)
        .bind(first)
        .bind(i64::from(count))
        .bind(operator)
        .bind(event::now())
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        for s in &serials {
            sqlx::query(
                "INSERT INTO blanks (pattern, serial, delivery_id, status) VALUES (?, ?, ?, 'stock')",
            )
            .bind(pattern)
            .bind(s)
            .bind(delivery)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(serials)
    }

    /// The operator put a stack in the feeder: these serials, in this order,
    /// after whatever is loaded already. Each must be in stock.
    pub async fn load_blanks(
        &self,
        pattern: &str,
        first: &str,
        count: u32,
        operator: &str,
    ) -> Result<Vec<String>> {
        let serials = crate::records::serial::range(first, count).map_err(BlankError::from)?;
        let mut tx = self.write_tx().await?;
        let (mut seq,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(load_seq), 0) FROM blanks WHERE pattern = ?")
                .bind(pattern)
                .fetch_one(&mut *tx)
                .await?;
        for s in &serials {
            in_stock(&mut tx, pattern, s).await?;
            seq += 1;
            sqlx::query(
                "UPDATE blanks SET status = 'loaded', load_seq = ?, loaded_by = ? WHERE pattern = ? AND serial = ?",
            )
            .bind(seq)
            .bind(operator)
            .bind(pattern)
            .bind(s)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(serials)
    }

    /// A blank that never reached the printer, destroyed or returned to the
    /// supplier, with the reason and who did it.
    pub async fn dispose_blank(
        &self,
        pattern: &str,
        serial: &str,
        how: &str,
        reason: &str,
        operator: &str,
    ) -> Result<()> {
        if how != "destroyed" && how != "returned" {
            return Err(BlankError::Disposal(how.to_string()).into());
        }
        let mut tx = self.write_tx().await?;
        let status: Option<(String,)> =
            sqlx::query_as("SELECT status FROM blanks WHERE pattern = ? AND serial = ?")
                .bind(pattern)
                .bind(serial)
                .fetch_optional(&mut *tx)
                .await?;
        match status {
            None => {
                return Err(BlankError::NotReceived {
                    pattern: pattern.into(),
                    serial: serial.into(),
                }
                .into())
            }
            Some((s,)) if s != "stock" && s != "loaded" => {
                return Err(BlankError::Used {
                    pattern: pattern.into(),
                    serial: serial.into(),
                    status: s,
                }
                .into())
            }
            Some(_) => {}
        }
        sqlx::query(
            "UPDATE blanks SET status = ?, cause = ?, used_at = ?, used_by = ?, load_seq = NULL
             WHERE pattern = ? AND serial = ?",
        )
        .bind(how)
        .bind(reason)
        .bind(event::now())
        .bind(operator)
        .bind(pattern)
        .bind(serial)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The pattern of the blank in stock with this serial, when only one
    /// pattern has it: the operator need not type what is unambiguous.
    pub async fn blank_pattern_of(&self, serial: &str) -> Result<Option<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT pattern FROM blanks WHERE serial = ? AND status = 'stock'",
        )
        .bind(serial)
        .fetch_all(&self.pool)
        .await?;
        Ok(match rows.as_slice() {
            [(p,)] => Some(p.clone()),
            _ => None,
        })
    }

    /// Blanks per pattern: received, in stock, loaded, and what became of
    /// the others.
    pub async fn blank_stock(&self) -> Result<Vec<BlankStock>> {
        let rows = sqlx::query(
            "SELECT pattern, COUNT(*) AS received,
                    SUM(status = 'stock') AS in_stock, SUM(status = 'loaded') AS loaded,
                    SUM(status = 'printed') AS printed, SUM(status = 'spoiled') AS spoiled,
                    SUM(status = 'destroyed') AS destroyed, SUM(status = 'returned') AS returned
             FROM blanks GROUP BY pattern ORDER BY pattern",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| BlankStock {
                pattern: r.get("pattern"),
                received: r.get("received"),
                in_stock: r.get("in_stock"),
                loaded: r.get("loaded"),
                printed: r.get("printed"),
                spoiled: r.get("spoiled"),
                destroyed: r.get("destroyed"),
                returned: r.get("returned"),
            })
            .collect())
    }

    /// Reserves the next loaded blank of `pattern` for the card that starts
    /// now: the printer feeds it, whatever happens next. A crash leaves the
    /// reservation, so the operator's word on the held card settles that
    /// blank and the cards after it take the ones after it.
    pub(super) async fn reserve_blank(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        pattern: &str,
        order_id: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE blanks SET order_id = ?2
             WHERE pattern = ?1 AND status = 'loaded' AND order_id IS NULL
               AND NOT EXISTS (SELECT 1 FROM blanks WHERE status = 'loaded' AND order_id = ?2)
               AND load_seq = (SELECT MIN(load_seq) FROM blanks
                               WHERE pattern = ?1 AND status = 'loaded' AND order_id IS NULL)",
        )
        .bind(pattern)
        .bind(order_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The card did not take its blank (it never started): the blank is
    /// still first in the feeder.
    pub(super) async fn unreserve_blank(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        order_id: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE blanks SET order_id = NULL WHERE order_id = ? AND status = 'loaded'")
            .bind(order_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Takes the next loaded blank of `pattern` for `order_id`, as printed on
    /// or spoiled. `None` when no blanks are loaded: the card is recorded
    /// without a serial, as before blanks were accounted.
    pub(super) async fn take_blank(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        pattern: &str,
        order_id: &str,
        status: &str,
        cause: Option<&str>,
    ) -> Result<Option<String>> {
        // The blank reserved when the card started, else the next in turn.
        let next: Option<(String,)> = sqlx::query_as(
            "SELECT serial FROM blanks WHERE pattern = ?1 AND status = 'loaded'
               AND (order_id = ?2 OR order_id IS NULL)
             ORDER BY order_id IS NULL, load_seq LIMIT 1",
        )
        .bind(pattern)
        .bind(order_id)
        .fetch_optional(&mut **tx)
        .await?;
        let Some((serial,)) = next else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE blanks SET status = ?, order_id = ?, cause = ?, used_at = ? WHERE pattern = ? AND serial = ?",
        )
        .bind(status)
        .bind(order_id)
        .bind(cause)
        .bind(event::now())
        .bind(pattern)
        .bind(&serial)
        .execute(&mut **tx)
        .await?;
        Ok(Some(serial))
    }
}

async fn in_stock(tx: &mut WriteTx, pattern: &str, serial: &str) -> Result<()> {
    let status: Option<(String,)> =
        sqlx::query_as("SELECT status FROM blanks WHERE pattern = ? AND serial = ?")
            .bind(pattern)
            .bind(serial)
            .fetch_optional(&mut **tx)
            .await?;
    match status {
        None => Err(BlankError::NotReceived {
            pattern: pattern.into(),
            serial: serial.into(),
        }
        .into()),
        Some((s,)) if s != "stock" => Err(BlankError::Used {
            pattern: pattern.into(),
            serial: serial.into(),
            status: s,
        }
        .into()),
        Some(_) => Ok(()),
    }
}

/// One blank as the blanks report lists it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BlankRow {
    pub pattern: String,
    pub serial: String,
    pub status: String,
    pub card_number: Option<String>,
    pub cause: Option<String>,
    pub used_by: Option<String>,
}

impl Store {
    /// Every blank, by pattern and serial, with the card printed on it.
    pub async fn blank_rows(&self) -> Result<Vec<BlankRow>> {
        Ok(sqlx::query_as(
            "SELECT b.pattern, b.serial, b.status, o.card_number, b.cause, b.used_by
             FROM blanks b LEFT JOIN orders o ON o.order_id = b.order_id
             ORDER BY b.pattern, length(b.serial), b.serial",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
