//! Cards in the register, addressed without ambiguity. A card number names
//! every card issued under it (an original and its duplicate share it), so
//! an operator's action on "card 15/2025" must say which one when there are
//! several: by the blank serial pre-printed on the card in hand, or by the
//! register row. And a card handed back is recorded on that card.

use super::{audit_in, Result, Store, WriteTx};
use crate::records::actor::Actor;
use crate::records::event::{self, Event};
use sqlx::Row;
use std::fmt;
use thiserror::Error;

/// How an operator names a card in the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardRef {
    /// The number printed on it: must name one card.
    Number(String),
    /// The blank serial pre-printed on it (unique per pattern; a serial
    /// shared by two patterns must be told apart by number).
    Blank {
        number: Option<String>,
        serial: String,
    },
    /// The register's row.
    Row(i64),
}

impl CardRef {
    /// From what a form or a command gave: a row wins, then a blank serial
    /// (with the number if both were given), then the number.
    pub fn from_parts(number: Option<&str>, blank: Option<&str>, row: Option<i64>) -> Option<Self> {
        let clean = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(String::from);
        match (row, clean(blank), clean(number)) {
            (Some(id), ..) => Some(CardRef::Row(id)),
            (None, Some(serial), number) => Some(CardRef::Blank { number, serial }),
            (None, None, Some(n)) => Some(CardRef::Number(n)),
            (None, None, None) => None,
        }
    }

    /// A line of a scanned pile: the card number, optionally followed by
    /// the blank serial (`15/2025 000123`).
    pub fn from_line(line: &str) -> Option<Self> {
        let mut words = line.split_whitespace();
        let number = words.next()?;
        Self::from_parts(Some(number), words.next(), None)
    }
}

impl fmt::Display for CardRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardRef::Number(n) => write!(f, "{n}"),
            CardRef::Blank {
                number: Some(n),
                serial,
            } => write!(f, "{n} (druk {serial})"),
            CardRef::Blank {
                number: None,
                serial,
            } => write!(f, "druk {serial}"),
            CardRef::Row(id) => write!(f, "#{id}"),
        }
    }
}

/// One register row, as a refusal lists it for the operator to choose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSummary {
    pub id: i64,
    pub card_number: String,
    pub blank_serial: Option<String>,
    pub issue_date: String,
    pub reason: String,
    pub superseded: bool,
    pub returned: bool,
}

impl fmt::Display for CardSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} (blank {}, issued {}, {}{}{})",
            self.id,
            self.blank_serial.as_deref().unwrap_or("without a serial"),
            self.issue_date,
            self.reason,
            if self.superseded { ", superseded" } else { "" },
            if self.returned { ", returned" } else { "" },
        )
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum CardError {
    #[error("card {0} is not in this station's register")]
    NotInRegister(String),
    #[error("card {card} names {} cards in the register: {}; say which by the blank serial on it (--blank) or the row (--row)", rows.len(), rows.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Ambiguous {
        card: String,
        rows: Vec<CardSummary>,
    },
    #[error("card {0} was already returned")]
    AlreadyReturned(String),
}

/// A register row an action is about.
pub(super) struct CardRow {
    pub id: i64,
    pub card_number: String,
    pub order_id: String,
    pub student_id: String,
    pub last_name: String,
    pub first_names: String,
    pub blank_serial: Option<String>,
    pub issue_date: String,
    pub returned: Option<(String, Option<String>)>,
}

/// The rows a reference names, as a refusal lists them.
macro_rules! summary {
    ($condition:literal) => {
        concat!(
            "SELECT c.id, c.card_number, c.blank_serial, c.issue_date, c.reason,
                    EXISTS (SELECT 1 FROM cards later
                            WHERE later.student_id = c.student_id AND later.id > c.id) AS superseded,
                    c.returned_at IS NOT NULL AS returned
             FROM cards c ",
            $condition
        )
    };
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    card_number: String,
    blank_serial: Option<String>,
    issue_date: Option<String>,
    reason: String,
    superseded: bool,
    returned: bool,
}

impl From<SummaryRow> for CardSummary {
    fn from(r: SummaryRow) -> Self {
        CardSummary {
            id: r.id,
            card_number: r.card_number,
            blank_serial: r.blank_serial,
            issue_date: r.issue_date.unwrap_or_default(),
            reason: r.reason,
            superseded: r.superseded,
            returned: r.returned,
        }
    }
}

impl Store {
    /// The one register row `card` names, or why there is none.
    pub(super) async fn resolve_card(&self, tx: &mut WriteTx, card: &CardRef) -> Result<CardRow> {
        // One statement per form, each on its index (a register holds years).
        let sql = match card {
            CardRef::Number(_) => summary!("WHERE c.card_number = ? ORDER BY c.id"),
            CardRef::Blank {
                number: Some(_), ..
            } => {
                summary!("WHERE c.card_number = ? AND c.blank_serial = ? ORDER BY c.id")
            }
            CardRef::Blank { number: None, .. } => {
                summary!("WHERE c.blank_serial = ? ORDER BY c.id")
            }
            CardRef::Row(_) => summary!("WHERE c.id = ?"),
        };
        let q = sqlx::query_as::<_, SummaryRow>(sql);
        let q = match card {
            CardRef::Number(n) => q.bind(n),
            CardRef::Blank { number, serial } => match number {
                Some(n) => q.bind(n).bind(serial),
                None => q.bind(serial),
            },
            CardRef::Row(id) => q.bind(*id),
        };
        let rows: Vec<CardSummary> = q
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .map(CardSummary::from)
            .collect();
        let id = match rows.as_slice() {
            [] => return Err(CardError::NotInRegister(card.to_string()).into()),
            [one] => one.id,
            _ => {
                return Err(CardError::Ambiguous {
                    card: card.to_string(),
                    rows,
                }
                .into())
            }
        };
        let r = sqlx::query(
            "SELECT id, card_number, order_id, student_id, last_name, first_names, blank_serial,
                    issue_date, returned_at, returned_reason
             FROM cards WHERE id = ?",
        )
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
        Ok(CardRow {
            id: r.get("id"),
            card_number: r.get("card_number"),
            order_id: r.get("order_id"),
            student_id: r.get("student_id"),
            last_name: r.get("last_name"),
            first_names: r.get("first_names"),
            blank_serial: r.get("blank_serial"),
            issue_date: r.get::<Option<String>, _>("issue_date").unwrap_or_default(),
            returned: r
                .get::<Option<String>, _>("returned_at")
                .map(|at| (at, r.get("returned_reason"))),
        })
    }

    /// A card handed back: it stays in the register, marked returned, takes
    /// no more holograms, and the central system is told (`card.returned`).
    pub async fn return_card(&self, card: &CardRef, reason: &str, actor: &Actor) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let c = self.resolve_card(&mut tx, card).await?;
        if c.returned.is_some() {
            return Err(CardError::AlreadyReturned(card.to_string()).into());
        }
        sqlx::query(
            "UPDATE cards SET returned_at = ?, returned_reason = ?, returned_by = ? WHERE id = ?",
        )
        .bind(event::now())
        .bind(reason)
        .bind(&actor.name)
        .bind(c.id)
        .execute(&mut *tx)
        .await?;
        self.emit(
            &mut tx,
            &[Event::card_returned(
                &c.order_id,
                &c.card_number,
                c.blank_serial.as_deref(),
                reason,
            )],
        )
        .await?;
        audit_in(
            &mut tx,
            actor,
            "card.return",
            Some(&format!("{} #{}", c.card_number, c.id)),
            Some(reason),
        )
        .await?;
        tx.commit().await?;
        Ok(c.id)
    }
}
