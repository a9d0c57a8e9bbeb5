//! The hologram register: deliveries of stickers, stickers put on cards, and
//! stickers spoiled. Rows are never deleted: a sticker's story is its row.

use super::cards::{CardRef, CardRow};
use super::{audit_in, Result, Store, WriteTx};
use crate::records::actor::Actor;
use crate::records::event::{self, Event};
use crate::records::hologram::{self, HologramError, SchoolYear};
use sqlx::Row;

/// Above this many stickers a delivery must be confirmed.
pub const LARGE_HOLOGRAM_DELIVERY: u32 = 5000;

/// One hologram recorded on a card.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The register row.
    pub card_id: i64,
    pub card_number: String,
    pub last_name: String,
    pub first_names: String,
    /// The card's date of issue, `YYYY-MM-DD`: which card of the pupil it is.
    pub issue_date: String,
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
    pub voided: i64,
}

/// Which cards a class's holograms go on: the class as recorded when the
/// cards were issued, in the school year they were issued. A class moves up
/// a year every September, so "4b" alone would mix pupils of several years.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassCards {
    pub class: String,
    pub issued_in: SchoolYear,
}

impl Store {
    /// Records a delivery of stickers for a school year. A serial received
    /// before (for any year) refuses the whole delivery: a typo in `first`
    /// must not create stickers that do not exist; so does an expired year,
    /// or a count over [`LARGE_HOLOGRAM_DELIVERY`] not confirmed.
    pub async fn receive_holograms(
        &self,
        year: SchoolYear,
        first: &str,
        count: u32,
        confirmed_large: bool,
        actor: &Actor,
    ) -> Result<Vec<String>> {
        let now = SchoolYear::of(self.today());
        if year < now {
            return Err(HologramError::YearOver {
                year: year.to_string(),
                open: format!("{now} or later"),
            }
            .into());
        }
        if count > LARGE_HOLOGRAM_DELIVERY && !confirmed_large {
            return Err(HologramError::LargeDelivery {
                count,
                max: LARGE_HOLOGRAM_DELIVERY,
            }
            .into());
        }
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
        .bind(&actor.name)
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
        audit_in(
            &mut tx,
            actor,
            "holograms.receive",
            Some(&super::span(&serials)),
            Some(&format!("{year}: {count}")),
        )
        .await?;
        tx.commit().await?;
        Ok(serials)
    }

    /// Stickers per school year: received, in stock, applied, spoiled
    /// (voided ones, recorded in error, are not counted as received).
    pub async fn hologram_stock(&self) -> Result<Vec<HologramStock>> {
        let rows = sqlx::query(
            "SELECT school_year, SUM(status != 'voided') AS received,
                    SUM(status = 'stock') AS in_stock,
                    SUM(status = 'applied') AS applied,
                    SUM(status = 'spoiled') AS spoiled,
                    SUM(status = 'voided') AS voided
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
                voided: r.get("voided"),
            })
            .collect())
    }

    /// Records that the sticker `serial` went on `card` in its next free
    /// field, and publishes `hologram.applied`. Every rule of the forms is
    /// checked first; nothing is recorded when one fails.
    pub async fn apply_hologram(
        &self,
        card: &CardRef,
        year: SchoolYear,
        serial: &str,
        actor: &Actor,
    ) -> Result<Applied> {
        let mut tx = self.write_tx().await?;
        let c = self.resolve_card(&mut tx, card).await?;
        let applied = self.apply_in(&mut tx, &c, year, serial, actor).await?;
        audit_in(
            &mut tx,
            actor,
            "hologram.apply",
            Some(&format!("{} #{}", c.card_number, c.id)),
            Some(&format!("{year}: {serial}")),
        )
        .await?;
        tx.commit().await?;
        Ok(applied)
    }

    /// A whole class (as issued in one school year), in register order,
    /// from the sticker `first` on (the next serials of that year in stock,
    /// in serial order: a spoiled sticker was torn off the roll). Cards
    /// that already carry the year, superseded or returned ones are left
    /// out. `dry_run` checks and answers without recording. All or nothing.
    pub async fn apply_class(
        &self,
        which: &ClassCards,
        year: SchoolYear,
        first: &str,
        actor: &Actor,
        dry_run: bool,
    ) -> Result<Vec<Applied>> {
        let mut tx = self.write_tx().await?;
        let (from, to) = which.issued_in.days();
        let ids: Vec<(i64,)> = sqlx::query_as(
            "SELECT c.id FROM cards c
             WHERE c.class = ? AND c.returned_at IS NULL
               AND c.issue_date >= ? AND c.issue_date <= ?
               AND NOT EXISTS (SELECT 1 FROM cards later
                               WHERE later.student_id = c.student_id AND later.id > c.id)
               AND NOT EXISTS (SELECT 1 FROM holograms h
                               WHERE h.card_id = c.id AND h.school_year = ?
                                 AND h.status = 'applied')
             ORDER BY c.id",
        )
        .bind(&which.class)
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(year.to_string())
        .fetch_all(&mut *tx)
        .await?;
        if ids.is_empty() {
            return Err(HologramError::EmptyClass(
                which.class.clone(),
                which.issued_in.to_string(),
            )
            .into());
        }
        let cards: Vec<CardRef> = ids.into_iter().map(|(id,)| CardRef::Row(id)).collect();
        let detail = format!("klasa {} ({})", which.class, which.issued_in);
        let out = self
            .apply_many(&mut tx, &cards, year, first, actor, &detail)
            .await?;
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(out)
    }

    /// A pile of cards as the operator scans them, card after card, each
    /// taking the next sticker of the roll from `first` on. All or nothing;
    /// `dry_run` answers without recording.
    pub async fn apply_pile(
        &self,
        cards: &[CardRef],
        year: SchoolYear,
        first: &str,
        actor: &Actor,
        dry_run: bool,
    ) -> Result<Vec<Applied>> {
        if cards.is_empty() {
            return Err(HologramError::NoCards.into());
        }
        let mut tx = self.write_tx().await?;
        let out = self
            .apply_many(&mut tx, cards, year, first, actor, "stos kart")
            .await?;
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(out)
    }

    async fn apply_many(
        &self,
        tx: &mut WriteTx,
        cards: &[CardRef],
        year: SchoolYear,
        first: &str,
        actor: &Actor,
        what: &str,
    ) -> Result<Vec<Applied>> {
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
        .fetch_all(&mut **tx)
        .await?;
        if stock.first().map(|(s,)| s.as_str()) != Some(first) {
            // The operator's first sticker must be the first used: anything
            // else means the roll in hand is not what the records say.
            self.check_serial(tx, first, year).await?;
        }
        if stock.len() < cards.len() {
            return Err(HologramError::NotEnough {
                class: what.to_string(),
                year: year.to_string(),
                first: first.to_string(),
                have: stock.len(),
                need: cards.len(),
            }
            .into());
        }
        let mut out = Vec::new();
        for (card, (serial,)) in cards.iter().zip(&stock) {
            let c = self.resolve_card(tx, card).await?;
            out.push(self.apply_in(tx, &c, year, serial, actor).await?);
        }
        let last = out.last().map(|a| a.serial.clone()).unwrap_or_default();
        audit_in(
            tx,
            actor,
            "hologram.apply_many",
            Some(what),
            Some(&format!(
                "{year}: {} hologramów, {first} – {last}",
                out.len()
            )),
        )
        .await?;
        Ok(out)
    }

    /// Records a sticker as spoiled (damaged, misapplied), with the reason,
    /// and reports it (`hologram.spoiled`). One spoiled on a card keeps the
    /// field it took, and must be named with that card: the register then
    /// shows which card's field holds a spoiled sticker.
    pub async fn spoil_hologram(
        &self,
        serial: &str,
        reason: &str,
        card: Option<&CardRef>,
        actor: &Actor,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        /// Status, school year, and the card, its number and the field it is on.
        type Sticker = (String, String, Option<i64>, Option<String>, Option<i64>);
        let row: Option<Sticker> =
            sqlx::query_as(
                "SELECT status, school_year, card_id, card_number, slot FROM holograms WHERE serial = ?",
            )
            .bind(serial)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((status, year, on_card, on_number, slot)) = row else {
            return Err(HologramError::NotReceived(serial.to_string()).into());
        };
        if status == "spoiled" || status == "voided" {
            return Err(HologramError::Used {
                serial: serial.to_string(),
                status,
                on: String::new(),
            }
            .into());
        }
        let order_id = match (on_card, card) {
            (Some(_), None) => return Err(HologramError::CardNeeded(serial.to_string()).into()),
            (Some(id), Some(named)) => {
                let c = self.resolve_card(&mut tx, named).await?;
                if c.id != id {
                    return Err(HologramError::OnAnotherCard {
                        serial: serial.to_string(),
                        on: on_number.unwrap_or_default(),
                        card: named.to_string(),
                    }
                    .into());
                }
                Some(c.order_id)
            }
            // A sticker still on the roll: no card to name.
            (None, _) => None,
        };
        set_aside(&mut tx, serial, "spoiled", reason, actor).await?;
        self.emit(
            &mut tx,
            &[Event::hologram_spoiled(
                order_id.as_deref(),
                on_number.as_deref(),
                &year,
                serial,
                slot,
                reason,
            )],
        )
        .await?;
        audit_in(
            &mut tx,
            actor,
            "hologram.spoil",
            Some(serial),
            Some(&match &on_number {
                Some(n) => format!("{reason} (karta {n})"),
                None => reason.to_string(),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A range of stickers recorded in error: every one must be in stock;
    /// they are kept, `voided`, with the reason.
    pub async fn void_holograms(
        &self,
        first: &str,
        count: u32,
        reason: &str,
        actor: &Actor,
    ) -> Result<Vec<String>> {
        let serials = crate::records::serial::range(first, count).map_err(HologramError::from)?;
        let mut tx = self.write_tx().await?;
        for s in &serials {
            let row: Option<(String,)> =
                sqlx::query_as("SELECT status FROM holograms WHERE serial = ?")
                    .bind(s)
                    .fetch_optional(&mut *tx)
                    .await?;
            match row {
                None => return Err(HologramError::NotReceived(s.clone()).into()),
                Some((st,)) if st != "stock" => {
                    return Err(HologramError::Used {
                        serial: s.clone(),
                        status: st,
                        on: String::new(),
                    }
                    .into())
                }
                Some(_) => {}
            }
        }
        for s in &serials {
            set_aside(&mut tx, s, "voided", reason, actor).await?;
        }
        audit_in(
            &mut tx,
            actor,
            "holograms.void",
            Some(&super::span(&serials)),
            Some(reason),
        )
        .await?;
        tx.commit().await?;
        Ok(serials)
    }

    /// The sticker exists, is for this year and is still in stock.
    async fn check_serial(&self, tx: &mut WriteTx, serial: &str, year: SchoolYear) -> Result<()> {
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
        tx: &mut WriteTx,
        card: &CardRow,
        year: SchoolYear,
        serial: &str,
        actor: &Actor,
    ) -> Result<Applied> {
        let number = &card.card_number;
        let open = SchoolYear::open_on(self.today());
        if !open.contains(&year) {
            return Err(HologramError::YearNotOpen {
                year: year.to_string(),
                open: open
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" or "),
            }
            .into());
        }
        if let Ok(issued) = chrono::NaiveDate::parse_from_str(&card.issue_date, "%Y-%m-%d") {
            let its_year = SchoolYear::of(issued);
            if year < its_year {
                return Err(HologramError::BeforeIssue {
                    card: number.clone(),
                    issued: card.issue_date.clone(),
                    its_year: its_year.to_string(),
                    year: year.to_string(),
                }
                .into());
            }
        }
        if let Some((on, reason)) = &card.returned {
            return Err(HologramError::Returned {
                card: number.clone(),
                on: crate::records::clock::local_day(on),
                reason: reason.clone().unwrap_or_default(),
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
                card: number.clone(),
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
                card: number.clone(),
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
            return Err(HologramError::FieldsFull(number.clone()).into());
        }
        self.check_serial(tx, serial, year).await?;
        let slot = used + 1;
        sqlx::query(
            "UPDATE holograms SET status = 'applied', card_id = ?, card_number = ?, slot = ?,
                                  applied_at = ?, applied_by = ?
             WHERE serial = ? AND status = 'stock'",
        )
        .bind(card.id)
        .bind(number)
        .bind(slot)
        .bind(event::now())
        .bind(&actor.name)
        .bind(serial)
        .execute(&mut **tx)
        .await?;
        self.emit(
            tx,
            &[Event::hologram_applied(
                &card.order_id,
                number,
                &year.to_string(),
                serial,
                year.valid_until(),
                slot,
            )],
        )
        .await?;
        Ok(Applied {
            card_id: card.id,
            card_number: number.clone(),
            last_name: card.last_name.clone(),
            first_names: card.first_names.clone(),
            issue_date: card.issue_date.clone(),
            serial: serial.to_string(),
            slot,
        })
    }
}

/// A sticker that will never validate a card: spoiled, or voided as
/// recorded in error; why, when and who.
async fn set_aside(
    tx: &mut WriteTx,
    serial: &str,
    status: &str,
    reason: &str,
    actor: &Actor,
) -> Result<()> {
    sqlx::query(
        "UPDATE holograms SET status = ?, spoiled_reason = ?, spoiled_at = ?, spoiled_by = ?
         WHERE serial = ?",
    )
    .bind(status)
    .bind(reason)
    .bind(event::now())
    .bind(&actor.name)
    .bind(serial)
    .execute(&mut **tx)
    .await?;
    Ok(())
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
