//! The blanks register: deliveries of numbered blanks, the stack loaded in
//! the printer, and what became of every serial.
//!
//! The records follow the feeder: a card reserves the first loaded blank
//! when it starts (the printer feeds the first card of its stack), and is
//! recorded on that blank and no other. A card that reserved none is
//! recorded without a serial, unless the operator types the one it used.
//! Blanks taken out of the feeder are unloaded (back to stock), never
//! "returned" (that is to the supplier).

use super::{audit_in, QueueMode, Result, Store, WriteTx};
use crate::card::template::KnownPattern;
use crate::records::actor::Actor;
use crate::records::event;
use thiserror::Error;

/// Above this many blanks a delivery must be confirmed: a typo in the count
/// would create blanks that do not exist.
pub const LARGE_DELIVERY: u32 = 1000;
/// No delivery is larger.
pub const MAX_DELIVERY: u32 = 100_000;

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
    #[error("blank {pattern} {serial} is reserved by the card of order {order_id}, which is in the printer or held for checking: settle that card first")]
    Reserved {
        pattern: String,
        serial: String,
        order_id: String,
    },
    #[error("{0:?} is neither destroyed nor returned")]
    Disposal(String),
    #[error("a delivery of {count} blanks is more than {LARGE_DELIVERY}: check the count on the delivery note, then confirm it (--confirm-large)")]
    LargeDelivery { count: u32 },
    #[error("a delivery of {count} blanks is more than {MAX_DELIVERY}, more than any school receives: check the count")]
    TooLarge { count: u32 },
    #[error("the card of order {order_id} reserved blank {reserved} when it started; it was printed on that one, not {typed}")]
    NotItsBlank {
        order_id: String,
        reserved: String,
        typed: String,
    },
    #[error("order {order_id}'s card never reached the printer ({code}): no blank was used, so none can be spoiled; release it without --spoiled")]
    NeverStarted { order_id: String, code: String },
    #[error("no blanks {0} are loaded")]
    NoneLoaded(String),
    #[error("blank {pattern} {serial} was voided on {on}: it was recorded in error")]
    Voided {
        pattern: String,
        serial: String,
        on: String,
    },
}

/// Blanks of one pattern by what became of them.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BlankStock {
    pub pattern: String,
    /// Blanks that exist: every serial received, less those voided.
    pub received: i64,
    pub in_stock: i64,
    pub loaded: i64,
    pub printed: i64,
    pub spoiled: i64,
    pub destroyed: i64,
    pub returned: i64,
    /// Serials recorded in error and voided (not counted as received).
    pub voided: i64,
    /// Cards and spoiled blanks of this pattern recorded without a serial:
    /// the operator must account for them by hand.
    pub cards_without_serial: i64,
    pub spoiled_without_serial: i64,
}

/// What `unload` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unloaded {
    /// Back in stock, in feeder order.
    pub serials: Vec<String>,
    /// Reserved by a card in the printer or held for checking: it stays
    /// that card's until the card is settled; if that card never took it,
    /// it goes back to stock then.
    pub reserved: Vec<(String, String)>,
}

impl Store {
    /// Records a delivery. A serial received before refuses the whole
    /// delivery: a typo must not create blanks that do not exist; so does a
    /// count over [`LARGE_DELIVERY`] not confirmed.
    pub async fn receive_blanks(
        &self,
        pattern: &KnownPattern,
        first: &str,
        count: u32,
        confirmed_large: bool,
        actor: &Actor,
    ) -> Result<Vec<String>> {
        if count > MAX_DELIVERY {
            return Err(BlankError::TooLarge { count }.into());
        }
        if count > LARGE_DELIVERY && !confirmed_large {
            return Err(BlankError::LargeDelivery { count }.into());
        }
        let pattern = pattern.as_str();
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
        .bind(&actor.name)
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
        let range = span(&serials);
        audit_in(
            &mut tx,
            actor,
            "blanks.receive",
            Some(&range),
            Some(&format!("{pattern}: {count}")),
        )
        .await?;
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
        actor: &Actor,
    ) -> Result<Vec<String>> {
        let mut tx = self.write_tx().await?;
        let serials = load_in(&mut tx, pattern, first, count, &actor.name, None).await?;
        // A batch that stopped only because its next card found no blank
        // goes on now that there are some.
        let resumed = sqlx::query(
            "UPDATE batches SET status = 'running', paused_reason = NULL, updated_at = ?
             WHERE pattern = ? AND status = 'paused' AND paused_reason = ?",
        )
        .bind(event::now())
        .bind(pattern)
        .bind(super::NO_BLANKS)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let detail = if resumed > 0 {
            format!("{pattern}; partie wznowione: {resumed}")
        } else {
            pattern.to_string()
        };
        audit_in(
            &mut tx,
            actor,
            "blanks.load",
            Some(&span(&serials)),
            Some(&detail),
        )
        .await?;
        tx.commit().await?;
        Ok(serials)
    }

    /// The operator took the stack out of the feeder: every loaded blank of
    /// `pattern` goes back to stock. One reserved by a card that is in the
    /// printer or held for checking stays with that card (see [`Unloaded`]).
    pub async fn unload_blanks(&self, pattern: &str, actor: &Actor) -> Result<Unloaded> {
        let mut tx = self.write_tx().await?;
        let u = unload_in(&mut tx, pattern, Unload::All).await?;
        if u.serials.is_empty() && u.reserved.is_empty() {
            return Err(BlankError::NoneLoaded(pattern.to_string()).into());
        }
        audit_in(
            &mut tx,
            actor,
            "blanks.unload",
            Some(&span(&u.serials)),
            Some(pattern),
        )
        .await?;
        tx.commit().await?;
        Ok(u)
    }

    /// A blank that never reached the printer, destroyed or returned to the
    /// supplier, with the reason and who did it. One reserved by a card
    /// (in the printer, or held for checking) is refused: only that card's
    /// settling says what became of it.
    pub async fn dispose_blank(
        &self,
        pattern: &str,
        serial: &str,
        how: &str,
        reason: &str,
        actor: &Actor,
    ) -> Result<()> {
        if how != "destroyed" && how != "returned" {
            return Err(BlankError::Disposal(how.to_string()).into());
        }
        let mut tx = self.write_tx().await?;
        let status: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT status, order_id FROM blanks WHERE pattern = ? AND serial = ?")
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
            Some((s, Some(order_id))) if s == "loaded" => {
                return Err(BlankError::Reserved {
                    pattern: pattern.into(),
                    serial: serial.into(),
                    order_id,
                }
                .into())
            }
            Some((s, _)) if s != "stock" && s != "loaded" => {
                return Err(BlankError::Used {
                    pattern: pattern.into(),
                    serial: serial.into(),
                    status: s,
                }
                .into())
            }
            Some(_) => {}
        }
        set_aside(&mut tx, pattern, serial, how, reason, actor).await?;
        let action = if how == "destroyed" {
            "blanks.destroy"
        } else {
            "blanks.return"
        };
        audit_in(
            &mut tx,
            actor,
            action,
            Some(&format!("{pattern} {serial}")),
            Some(reason),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A range recorded in error (a mistyped delivery): the serials were
    /// never in the cupboard. Every one must be in stock (never loaded,
    /// printed or disposed of); they are kept, `voided`, with the reason.
    pub async fn void_blanks(
        &self,
        pattern: &str,
        first: &str,
        count: u32,
        reason: &str,
        actor: &Actor,
    ) -> Result<Vec<String>> {
        let serials = crate::records::serial::range(first, count).map_err(BlankError::from)?;
        let mut tx = self.write_tx().await?;
        for s in &serials {
            in_stock(&mut tx, pattern, s).await?;
        }
        for s in &serials {
            set_aside(&mut tx, pattern, s, "voided", reason, actor).await?;
        }
        audit_in(
            &mut tx,
            actor,
            "blanks.void",
            Some(&format!("{pattern} {}", span(&serials))),
            Some(reason),
        )
        .await?;
        tx.commit().await?;
        Ok(serials)
    }

    /// The first `n` blanks of `pattern` in stock, in serial order.
    pub async fn blanks_in_stock(&self, pattern: &str, n: u32) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT serial FROM blanks WHERE pattern = ? AND status = 'stock'
             ORDER BY length(serial), serial LIMIT ?",
        )
        .bind(pattern)
        .bind(i64::from(n))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(s,)| s).collect())
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

    /// Blanks per pattern: received, in stock, loaded, what became of the
    /// others, and the cards and spoils recorded without a serial.
    pub async fn blank_stock(&self) -> Result<Vec<BlankStock>> {
        // Counted on the (pattern, status) index, not row by row: a decade
        // holds a hundred thousand serials and the Pulpit asks every time.
        let counts: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT pattern, status, COUNT(*) FROM blanks INDEXED BY blanks_loaded
             GROUP BY pattern, status ORDER BY pattern",
        )
        .fetch_all(&self.pool)
        .await?;
        // Few, each found on a partial index.
        let unnumbered: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT p.pattern,
                    (SELECT COUNT(*) FROM cards c INDEXED BY cards_unnumbered
                       JOIN orders o ON o.order_id = c.order_id
                      WHERE c.blank_serial IS NULL AND o.pattern = p.pattern),
                    (SELECT COUNT(*) FROM spoiled s INDEXED BY spoiled_unnumbered
                       JOIN orders o ON o.order_id = s.order_id
                      WHERE s.blank_serial IS NULL AND o.pattern = p.pattern)
             FROM (SELECT DISTINCT pattern FROM blank_deliveries) p",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<BlankStock> = Vec::new();
        for (pattern, status, n) in counts {
            if out.last().map(|b| &b.pattern) != Some(&pattern) {
                out.push(BlankStock {
                    pattern: pattern.clone(),
                    ..BlankStock::default()
                });
            }
            let b = out.last_mut().expect("pushed above");
            match status.as_str() {
                "stock" => b.in_stock = n,
                "loaded" => b.loaded = n,
                "printed" => b.printed = n,
                "spoiled" => b.spoiled = n,
                "destroyed" => b.destroyed = n,
                "returned" => b.returned = n,
                "voided" => b.voided = n,
                _ => {}
            }
            if status != "voided" {
                b.received += n;
            }
        }
        for b in &mut out {
            if let Some((_, cards, spoils)) = unnumbered.iter().find(|(p, ..)| *p == b.pattern) {
                b.cards_without_serial = *cards;
                b.spoiled_without_serial = *spoils;
            }
        }
        Ok(out)
    }

    /// Patterns whose waiting cards cannot print for want of a loaded blank
    /// (they are accounted on numbered blanks, and none is loaded). In batch
    /// mode only cards of a running batch would print now: an order outside
    /// one waits for the operator's batch, not for blanks.
    pub async fn patterns_waiting_for_blanks(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            // The waiting patterns first (a handful), then the blanks of
            // each: not two lookups for every one of September's orders.
            "SELECT o.pattern FROM (SELECT DISTINCT pattern FROM orders q WHERE status = 'queued'
                    AND (?1 = 0 OR EXISTS (SELECT 1 FROM batch_orders bo JOIN batches b ON b.id = bo.batch_id
                                            WHERE bo.order_id = q.order_id AND b.status = 'running'))) o
             WHERE EXISTS (SELECT 1 FROM blanks ab WHERE ab.pattern = o.pattern AND ab.status != 'voided')
               AND NOT EXISTS (SELECT 1 FROM blanks lb WHERE lb.pattern = o.pattern
                               AND lb.status = 'loaded' AND lb.order_id IS NULL)
             ORDER BY o.pattern",
        )
        .bind(self.mode == QueueMode::Batch)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(p,)| p).collect())
    }

    /// The blanks in the feeder as the records have them, first to be fed
    /// first: (serial, the order whose card reserved it).
    pub async fn loaded_blanks(&self, pattern: &str) -> Result<Vec<(String, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT serial, order_id FROM blanks WHERE pattern = ? AND status = 'loaded'
             ORDER BY order_id IS NULL, load_seq",
        )
        .bind(pattern)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The blank a card reserved when it started, if any: (pattern, serial).
    pub async fn reserved_blank(&self, order_id: &str) -> Result<Option<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT pattern, serial FROM blanks WHERE order_id = ? AND status = 'loaded'",
        )
        .bind(order_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Reserves the next loaded blank of `pattern` for the card that starts
    /// now: the printer feeds it, whatever happens next. A crash leaves the
    /// reservation, so the operator's word on the held card settles that
    /// blank and the cards after it take the ones after it. Returns whether
    /// a blank was reserved.
    pub(super) async fn reserve_blank(
        &self,
        tx: &mut WriteTx,
        pattern: &str,
        order_id: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
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
        Ok(done.rows_affected() == 1)
    }

    /// The card did not take its blank (it never started): the blank is
    /// still first in the feeder, unless the stack was unloaded meanwhile
    /// (then it went out with it, to stock).
    pub(super) async fn unreserve_blank(&self, tx: &mut WriteTx, order_id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE blanks SET order_id = NULL,
                    status = CASE WHEN unload_when_free THEN 'stock' ELSE status END,
                    load_seq = CASE WHEN unload_when_free THEN NULL ELSE load_seq END,
                    loaded_by = CASE WHEN unload_when_free THEN NULL ELSE loaded_by END,
                    batch_id = CASE WHEN unload_when_free THEN NULL ELSE batch_id END,
                    unload_when_free = 0
             WHERE order_id = ? AND status = 'loaded'",
        )
        .bind(order_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The blank the card of `order_id` took, as printed on or spoiled: the
    /// one it reserved when it started, or the one the operator typed (for
    /// a card that reserved none). `None`: recorded without a serial.
    pub(super) async fn use_blank(
        &self,
        tx: &mut WriteTx,
        order_id: &str,
        typed: Option<&str>,
        status: &str,
        cause: Option<&str>,
    ) -> Result<Option<(String, String)>> {
        let reserved: Option<(String, String)> = sqlx::query_as(
            "SELECT pattern, serial FROM blanks WHERE order_id = ? AND status = 'loaded'",
        )
        .bind(order_id)
        .fetch_optional(&mut **tx)
        .await?;
        let blank = match (reserved, typed) {
            (Some((_, serial)), Some(t)) if t != serial => {
                return Err(BlankError::NotItsBlank {
                    order_id: order_id.to_string(),
                    reserved: serial,
                    typed: t.to_string(),
                }
                .into())
            }
            (Some(b), _) => b,
            (None, Some(t)) => {
                let (pattern,): (String,) =
                    sqlx::query_as("SELECT pattern FROM orders WHERE order_id = ?")
                        .bind(order_id)
                        .fetch_one(&mut **tx)
                        .await?;
                typed_blank(tx, &pattern, t).await?;
                (pattern, t.to_string())
            }
            (None, None) => return Ok(None),
        };
        sqlx::query(
            "UPDATE blanks SET status = ?, order_id = ?, cause = ?, used_at = ?, load_seq = NULL,
                    unload_when_free = 0
             WHERE pattern = ? AND serial = ?",
        )
        .bind(status)
        .bind(order_id)
        .bind(cause)
        .bind(event::now())
        .bind(&blank.0)
        .bind(&blank.1)
        .execute(&mut **tx)
        .await?;
        Ok(Some(blank))
    }

    /// Whether cards of `pattern` are accounted on numbered blanks: any
    /// were received (and not voided). Such a card never prints without a
    /// loaded blank.
    pub(super) async fn accounted(&self, tx: &mut WriteTx, pattern: &str) -> Result<bool> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM blanks WHERE pattern = ? AND status != 'voided')",
        )
        .bind(pattern)
        .fetch_one(&mut **tx)
        .await?;
        Ok(n != 0)
    }
}

/// `load_blanks` inside a larger transaction (a batch's start, `batch`).
pub(super) async fn load_in(
    tx: &mut WriteTx,
    pattern: &str,
    first: &str,
    count: u32,
    by: &str,
    batch: Option<&str>,
) -> Result<Vec<String>> {
    let serials = crate::records::serial::range(first, count).map_err(BlankError::from)?;
    let (mut seq,): (i64,) =
        sqlx::query_as("SELECT COALESCE(MAX(load_seq), 0) FROM blanks WHERE pattern = ?")
            .bind(pattern)
            .fetch_one(&mut **tx)
            .await?;
    for s in &serials {
        in_stock(tx, pattern, s).await?;
        seq += 1;
        sqlx::query(
            "UPDATE blanks SET status = 'loaded', load_seq = ?, loaded_by = ?, order_id = NULL,
                               batch_id = ?
             WHERE pattern = ? AND serial = ?",
        )
        .bind(seq)
        .bind(by)
        .bind(batch)
        .bind(pattern)
        .bind(s)
        .execute(&mut **tx)
        .await?;
    }
    Ok(serials)
}

/// Which loaded blanks an unload takes out.
pub(super) enum Unload<'a> {
    /// Every one of the pattern (the operator emptied the feeder).
    All,
    /// What a cancelled batch leaves at the back of the feeder: its own
    /// stack and blanks loaded by hand or for batches that are over, but
    /// only behind the last blank another running batch still needs. Those
    /// in front of it stay loaded: the printer will feed them first, and
    /// the operator cannot reach them before it does.
    LeftBy(&'a str),
}

/// `unload_blanks` inside a larger transaction (a batch's cancel).
pub(super) async fn unload_in(
    tx: &mut WriteTx,
    pattern: &str,
    which: Unload<'_>,
) -> Result<Unloaded> {
    let loaded: Vec<(String, Option<String>, Option<String>, bool)> = sqlx::query_as(
        "SELECT b.serial, b.order_id, b.batch_id,
                b.batch_id IS NOT NULL AND EXISTS (SELECT 1 FROM batches x WHERE x.id = b.batch_id
                                                   AND x.status IN ('running', 'paused')) AS live
         FROM blanks b WHERE b.pattern = ? AND b.status = 'loaded' ORDER BY b.load_seq",
    )
    .bind(pattern)
    .fetch_all(&mut **tx)
    .await?;
    let leaves = |batch: &Option<String>, live: bool| match which {
        Unload::All => true,
        Unload::LeftBy(id) => batch.as_deref() == Some(id) || !live,
    };
    // The free blanks in feeder order; only those behind the last one that
    // stays come out.
    let free: Vec<&(String, Option<String>, Option<String>, bool)> =
        loaded.iter().filter(|b| b.1.is_none()).collect();
    let keep_until = free
        .iter()
        .rposition(|(_, _, batch, live)| !leaves(batch, *live))
        .map_or(0, |i| i + 1);
    let out: Vec<String> = free[keep_until..].iter().map(|b| b.0.clone()).collect();
    for serial in &out {
        sqlx::query(
            "UPDATE blanks SET status = 'stock', load_seq = NULL, loaded_by = NULL, batch_id = NULL
             WHERE pattern = ? AND serial = ?",
        )
        .bind(pattern)
        .bind(serial)
        .execute(&mut **tx)
        .await?;
    }
    if let Unload::LeftBy(id) = which {
        // What stays of the cancelled batch's stack is the next cards'.
        sqlx::query("UPDATE blanks SET batch_id = NULL WHERE pattern = ? AND status = 'loaded' AND batch_id = ?")
            .bind(pattern)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    // A blank a card reserved was first in the feeder: it goes out with the
    // stack only when the whole stack does. If that card turns out never to
    // have taken it, it is back in stock then.
    let emptied = keep_until == 0;
    let mut reserved = Vec::new();
    for (serial, order, batch, live) in &loaded {
        if let Some(order) = order {
            if emptied && leaves(batch, *live) {
                sqlx::query(
                    "UPDATE blanks SET unload_when_free = 1 WHERE pattern = ? AND serial = ?",
                )
                .bind(pattern)
                .bind(serial)
                .execute(&mut **tx)
                .await?;
                reserved.push((serial.clone(), order.clone()));
            }
        }
    }
    Ok(Unloaded {
        serials: out,
        reserved,
    })
}

/// A blank that will never be a card: destroyed, returned to the supplier,
/// or voided as recorded in error; why, when and who.
async fn set_aside(
    tx: &mut WriteTx,
    pattern: &str,
    serial: &str,
    status: &str,
    reason: &str,
    actor: &Actor,
) -> Result<()> {
    sqlx::query(
        "UPDATE blanks SET status = ?, cause = ?, used_at = ?, used_by = ?, load_seq = NULL
         WHERE pattern = ? AND serial = ?",
    )
    .bind(status)
    .bind(reason)
    .bind(event::now())
    .bind(&actor.name)
    .bind(pattern)
    .bind(serial)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `first – last` of a run of serials (or the one).
pub fn span(serials: &[String]) -> String {
    match serials {
        [] => String::new(),
        [one] => one.clone(),
        [first, .., last] => format!("{first} – {last}"),
    }
}

async fn status_of(
    tx: &mut WriteTx,
    pattern: &str,
    serial: &str,
) -> Result<Option<(String, Option<String>, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT status, order_id, used_at FROM blanks WHERE pattern = ? AND serial = ?",
    )
    .bind(pattern)
    .bind(serial)
    .fetch_optional(&mut **tx)
    .await?)
}

fn not_usable(pattern: &str, serial: &str, status: String, at: Option<String>) -> BlankError {
    if status == "voided" {
        return BlankError::Voided {
            pattern: pattern.into(),
            serial: serial.into(),
            on: at.unwrap_or_default().chars().take(10).collect(),
        };
    }
    BlankError::Used {
        pattern: pattern.into(),
        serial: serial.into(),
        status,
    }
}

async fn in_stock(tx: &mut WriteTx, pattern: &str, serial: &str) -> Result<()> {
    match status_of(tx, pattern, serial).await? {
        None => Err(BlankError::NotReceived {
            pattern: pattern.into(),
            serial: serial.into(),
        }
        .into()),
        Some((s, _, at)) if s != "stock" => Err(not_usable(pattern, serial, s, at).into()),
        Some(_) => Ok(()),
    }
}

/// A serial the operator says a card used: it must be a blank that could
/// have been in the printer (loaded and free, or in stock: loaded by hand
/// without telling the station).
async fn typed_blank(tx: &mut WriteTx, pattern: &str, serial: &str) -> Result<()> {
    match status_of(tx, pattern, serial).await? {
        None => Err(BlankError::NotReceived {
            pattern: pattern.into(),
            serial: serial.into(),
        }
        .into()),
        Some((s, Some(order_id), _)) if s == "loaded" => Err(BlankError::Reserved {
            pattern: pattern.into(),
            serial: serial.into(),
            order_id,
        }
        .into()),
        Some((s, _, at)) if s != "stock" && s != "loaded" => {
            Err(not_usable(pattern, serial, s, at).into())
        }
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
    /// Every spoiled blank recorded, oldest first: (pattern, serial), each
    /// `None` where it was recorded without one.
    pub async fn spoiled_blanks(&self) -> Result<Vec<(Option<String>, Option<String>)>> {
        Ok(
            sqlx::query_as("SELECT blank_pattern, blank_serial FROM spoiled ORDER BY id")
                .fetch_all(&self.pool)
                .await?,
        )
    }

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
