//! The hologram register: deliveries of stickers, stickers put on cards, and
//! stickers spoiled. Rows are never deleted: a sticker's story is its row.

use super::{Result, Store};
use crate::records::event::{self, Event};
use crate::records::hologram::{self, HologramError, SchoolYear};
use sqlx::Row;

/// One hologram recorded on a card.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub card_number: String,
    pub last_name: String,
    pub first_names: String,
    pub serial: String,
    pub slot: i64,
}

/// Stickers of one school year by what became of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HologramStock {
    pub school_year: String,
    pub received: i64,
    pub in_stock: i64,
    pub applied: i64,
    pub spoiled: i64,
}

/// The card a hologram goes on: the latest card issued under that number.
struct CardRow {
    id: i64,
    order_id: String,
    student_id: String,
    last_name: String,
    first_names: String,
}

impl Store {
    /// Records a delivery of stickers for a school year. A serial received
    /// before (for any year) refuses the whole delivery: a typo in `first`
    /// must not create stickers that do not exist.
    pub async fn receive_holograms(
        &self,
        year: SchoolYear,
        first: &str,
        count: u32,
        operator: &str,
    ) -> Result<Vec<String>> {
        let serials = crate::records::serial::range(first, count).map_err(HologramError::from)?;
        let mut tx = self.write_tx().await?;
        for s in &serials {
            let known: Option<(String,)> =
                sqlx::query_as("SELECT school_year FROM holograms WHERE serial = ?")
                    .bind(s)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some((y,)) = known {
                return Err(HologramError::AlreadyReceived(s.clone(), y).into());
            }
        }
        let delivery = sqlx::query(
            "INSERT INTO hologram_deliveries (school_year, first, count, operator, received_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(year.to_string())
        .bind(first)
        .bind(i64::from(count))
        .bind(operator)
        .bind(event::now())
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        for s in &serials {
            sqlx::query(
                "INSERT INTO holograms (serial, school_year, delivery_id, status) VALUES (?, ?, ?, 'stock')",
            )
            .bind(s)
            .bind(year.to_string())
            .bind(delivery)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(serials)
    }

    /// Stickers per school year: received, in stock, applied, spoiled.
    pub async fn hologram_stock(&self) -> Result<Vec<HologramStock>> {
        let rows = sqlx::query(
            "SELECT school_year, COUNT(*) AS received,
                    SUM(status = 'stock') AS in_stock,
                    SUM(status = 'applied') AS applied,
                    SUM(status = 'spoiled') AS spoiled
             FROM holograms GROUP BY school_year ORDER BY school_year",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| HologramStock {
                school_year: r.get("school_year"),
                received: r.get("received"),
                in_stock: r.get("in_stock"),
                applied: r.get("applied"),
                spoiled: r.get("spoiled"),
            })
            .collect())
    }

    /// Records that the sticker `serial` went on card `card_number` in its
    /// next free field, and publishes `hologram.applied`. Every rule of the
    /// forms is checked first; nothing is recorded when one fails.
    pub async fn apply_hologram(
        &self,
        card_number: &str,
        year: SchoolYear,
        serial: &str,
        operator: &str,
    ) -> Result<Applied> {
        let mut tx = self.write_tx().await?;
        let applied = self
            .apply_in(&mut tx, card_number, year, serial, operator)
            .await?;
        tx.commit().await?;
        Ok(applied)
    }

    /// A whole class, in register order, from the sticker `first` on (the
    /// next serials of that year in stock, in serial order). Cards that
    /// already carry the year are skipped. `dry_run` checks and answers
    /// without recording anything. All or nothing.
    pub async fn apply_class(
        &self,
        class: &str,
        year: SchoolYear,
        first: &str,
        operator: &str,
        dry_run: bool,
    ) -> Result<Vec<Applied>> {
        let mut tx = self.write_tx().await?;
        let cards: Vec<(String,)> = sqlx::query_as(
            "SELECT c.card_number FROM cards c
             WHERE c.class = ? AND c.returned_at IS NULL
               AND c.id = (SELECT MAX(id) FROM cards WHERE card_number = c.card_number)
               AND NOT EXISTS (SELECT 1 FROM cards later
                               WHERE later.student_id = c.student_id AND later.id > c.id)
               AND NOT EXISTS (SELECT 1 FROM holograms h
                               WHERE h.card_id = c.id AND h.school_year = ?
                                 AND h.status = 'applied')
             ORDER BY c.id",
        )
        .bind(class)
        .bind(year.to_string())
        .fetch_all(&mut *tx)
        .await?;
        if cards.is_empty() {
            return Err(HologramError::EmptyClass(class.to_string()).into());
        }
        let stock: Vec<(String,)> = sqlx::query_as(
            "SELECT serial FROM holograms
             WHERE school_year = ? AND status = 'stock' AND serial >= ?
               AND length(serial) = length(?)
             ORDER BY serial LIMIT ?",
        )
        .bind(year.to_string())
        .bind(first)
        .bind(first)
        .bind(cards.len() as i64)
        .fetch_all(&mut *tx)
        .await?;
        if stock.first().map(|(s,)| s.as_str()) != Some(first) {
            // The operator's first sticker must be the first used: anything
            // else means the stack in hand is not what the records say.
            self.check_serial(&mut tx, first, year).await?;
        }
        if stock.len() < cards.len() {
            return Err(HologramError::NotEnough {
                class: class.to_string(),
                year: year.to_string(),
                first: first.to_string(),
                have: stock.len(),
                need: cards.len(),
            }
            .into());
        }
        let mut out = Vec::new();
        for ((card,), (serial,)) in cards.iter().zip(&stock) {
            out.push(self.apply_in(&mut tx, card, year, serial, operator).await?);
        }
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(out)
    }

    /// Records a sticker as spoiled (damaged, misapplied), with the reason.
    /// One spoiled on a card keeps the field it took: a field holds one
    /// sticker, even a spoiled one.
    pub async fn spoil_hologram(&self, serial: &str, reason: &str, operator: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let row: Option<(String,)> =
            sqlx::query_as("SELECT status FROM holograms WHERE serial = ?")
                .bind(serial)
                .fetch_optional(&mut *tx)
                .await?;
        match row {
            None => return Err(HologramError::NotReceived(serial.to_string()).into()),
            Some((s,)) if s == "spoiled" => {
                return Err(HologramError::Used {
                    serial: serial.to_string(),
                    status: s,
                    on: String::new(),
                }
                .into())
            }
            Some(_) => {}
        }
        sqlx::query(
            "UPDATE holograms SET status = 'spoiled', spoiled_reason = ?, spoiled_at = ?, spoiled_by = ?
             WHERE serial = ?",
        )
        .bind(reason)
        .bind(event::now())
        .bind(operator)
        .bind(serial)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn card(&self, tx: &mut super::WriteTx, card_number: &str) -> Result<CardRow> {
        let row = sqlx::query(
            "SELECT id, order_id, student_id, last_name, first_names FROM cards
             WHERE card_number = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(card_number)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| HologramError::NotInRegister(card_number.to_string()))?;
        Ok(CardRow {
            id: row.get("id"),
            order_id: row.get("order_id"),
            student_id: row.get("student_id"),
            last_name: row.get("last_name"),
            first_names: row.get("first_names"),
        })
    }

    /// The sticker exists, is for this year and is still in stock.
    async fn check_serial(
        &self,
        tx: &mut super::WriteTx,
        serial: &str,
        year: SchoolYear,
    ) -> Result<()> {
        let row: Option<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT school_year, status, card_number FROM holograms WHERE serial = ?",
        )
        .bind(serial)
        .fetch_optional(&mut **tx)
        .await?;
        let Some((its_year, status, on)) = row else {
            return Err(HologramError::NotReceived(serial.to_string()).into());
        };
        if status != "stock" {
            return Err(HologramError::Used {
                serial: serial.to_string(),
                on: on.map(|c| format!(" (card {c})")).unwrap_or_default(),
                status,
            }
            .into());
        }
        if its_year != year.to_string() {
            return Err(HologramError::OtherYear {
                serial: serial.to_string(),
                its_year,
                year: year.to_string(),
            }
            .into());
        }
        Ok(())
    }

    async fn apply_in(
        &self,
        tx: &mut super::WriteTx,
        card_number: &str,
        year: SchoolYear,
        serial: &str,
        operator: &str,
    ) -> Result<Applied> {
        let card = self.card(tx, card_number).await?;
        let returned: (Option<String>, Option<String>) =
            sqlx::query_as("SELECT returned_at, returned_reason FROM cards WHERE id = ?")
                .bind(card.id)
                .fetch_one(&mut **tx)
                .await?;
        if let (Some(on), reason) = returned {
            return Err(HologramError::Returned {
                card: card_number.to_string(),
                on: on[..10.min(on.len())].to_string(),
                reason: reason.unwrap_or_default(),
            }
            .into());
        }
        let later: Option<(String,)> = sqlx::query_as(
            "SELECT card_number FROM cards WHERE student_id = ? AND id > ? ORDER BY id DESC LIMIT 1",
        )
        .bind(&card.student_id)
        .bind(card.id)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some((by,)) = later {
            return Err(HologramError::Superseded {
                card: card_number.to_string(),
                by,
            }
            .into());
        }
        let on_card: Option<(String,)> = sqlx::query_as(
            "SELECT serial FROM holograms
             WHERE card_id = ? AND school_year = ? AND status = 'applied'",
        )
        .bind(card.id)
        .bind(year.to_string())
        .fetch_optional(&mut **tx)
        .await?;
        if let Some((s,)) = on_card {
            return Err(HologramError::YearOnCard {
                card: card_number.to_string(),
                year: year.to_string(),
                serial: s,
            }
            .into());
        }
        let (used,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM holograms WHERE card_id = ?")
            .bind(card.id)
            .fetch_one(&mut **tx)
            .await?;
        if used >= hologram::FIELDS {
            return Err(HologramError::FieldsFull(card_number.to_string()).into());
        }
        self.check_serial(tx, serial, year).await?;
        let slot = used + 1;
        sqlx::query(
            "UPDATE holograms SET status = 'applied', card_id = ?, card_number = ?, slot = ?,
                                  applied_at = ?, applied_by = ?
             WHERE serial = ? AND status = 'stock'",
        )
        .bind(card.id)
        .bind(card_number)
        .bind(slot)
        .bind(event::now())
        .bind(operator)
        .bind(serial)
        .execute(&mut **tx)
        .await?;
        self.emit(
            tx,
            &[Event::hologram_applied(
                &card.order_id,
                card_number,
                &year.to_string(),
                serial,
                year.valid_until(),
                slot,
            )],
        )
        .await?;
        Ok(Applied {
            card_number: card_number.to_string(),
            last_name: card.last_name,
            first_names: card.first_names,
            serial: serial.to_string(),
            slot,
        })
    }
}

/// One sticker as the hologram report lists it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HologramRow {
    pub serial: String,
    pub status: String,
    pub card_number: Option<String>,
    pub slot: Option<i64>,
    pub applied_at: Option<String>,
    pub applied_by: Option<String>,
    pub spoiled_reason: Option<String>,
    pub spoiled_by: Option<String>,
}

impl Store {
    /// Every sticker of a school year, in serial order.
    pub async fn holograms_of(&self, year: SchoolYear) -> Result<Vec<HologramRow>> {
        Ok(sqlx::query_as(
            "SELECT serial, status, card_number, slot, applied_at, applied_by, spoiled_reason, spoiled_by
             FROM holograms WHERE school_year = ? ORDER BY length(serial), serial",
        )
        .bind(year.to_string())
        .fetch_all(&self.pool)
        .await?)
    }
}

impl Store {
    /// A card handed back: it stays in the register, marked returned, and
    /// takes no more holograms.
    pub async fn return_card(&self, card_number: &str, reason: &str, operator: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let card = self.card(&mut tx, card_number).await?;
        let done = sqlx::query(
            "UPDATE cards SET returned_at = ?, returned_reason = ?, returned_by = ?
             WHERE id = ? AND returned_at IS NULL",
        )
        .bind(event::now())
        .bind(reason)
        .bind(operator)
        .bind(card.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(HologramError::AlreadyReturned(card_number.to_string()).into());
        }
        tx.commit().await?;
        Ok(())
    }
}
