//! A card order that passed validation. Only a [`ValidOrder`] can be queued
//! and printed; the raw [`OrderMsg`] never gets that far.

use crate::message::OrderMsg;
use crate::pesel::{Pesel, PeselError};
use crate::photo::Photo;
use crate::reject::{Code, Rejection};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    New,
    Duplicate,
    Replacement,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::New => "new",
            Reason::Duplicate => "duplicate",
            Reason::Replacement => "replacement",
        }
    }
}

/// What identifies the student on the card.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    Pesel(String),
    Document { name: String, number: String },
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Pesel(p) if p.len() == 11 => {
                write!(f, "Pesel({}*******{})", &p[..2], &p[9..])
            }
            Identity::Pesel(_) => f.write_str("Pesel(removed)"),
            Identity::Document { name, .. } => write!(f, "Document({name}, ***)"),
        }
    }
}

/// Everything printed on the card but the photo. Stored as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardData {
    pub order_id: String,
    pub created_at: DateTime<Utc>,
    pub reason: Reason,
    pub pattern: String,
    pub card_number: String,
    pub issue_date: NaiveDate,
    pub student_id: String,
    pub first_names: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub identity: Identity,
    pub school_rspo: String,
    pub school_name: String,
    pub school_address: String,
    pub headteacher: String,
}

impl CardData {
    /// The identity as printed: the PESEL, or the document's name and number.
    pub fn identity_text(&self) -> String {
        match &self.identity {
            Identity::Pesel(p) => p.clone(),
            Identity::Document { name, number } => format!("{name} {number}"),
        }
    }

    /// The text of a named layout field, or `None` if the card leaves it empty.
    pub fn field_text(&self, name: &str) -> Option<String> {
        let date = |d: NaiveDate| d.format("%d.%m.%Y").to_string();
        Some(match name {
            "first_names" => self.first_names.clone(),
            "last_name" => self.last_name.clone(),
            "birth_date" => date(self.birth_date),
            "identity" => self.identity_text(),
            "school_name" => self.school_name.clone(),
            "school_address" => self.school_address.clone(),
            "headteacher" => self.headteacher.clone(),
            "issue_date" => date(self.issue_date),
            "card_number" => self.card_number.clone(),
            "duplicate" if self.reason == Reason::Duplicate => "DUPLIKAT".into(),
            _ => return None,
        })
    }

    /// The field names a layout must offer.
    pub const FIELDS: &'static [&'static str] = &[
        "first_names",
        "last_name",
        "birth_date",
        "identity",
        "school_name",
        "school_address",
        "headteacher",
        "issue_date",
        "card_number",
        "duplicate",
    ];

    /// Strips what is no longer needed once the card is printed: the PESEL or
    /// document number stays on the card, not in the station.
    pub fn redact(&mut self) {
        self.identity = match &self.identity {
            Identity::Pesel(_) => Identity::Pesel(String::new()),
            Identity::Document { name, .. } => Identity::Document {
                name: name.clone(),
                number: String::new(),
            },
        };
    }
}

#[derive(Debug, Clone)]
pub struct ValidOrder {
    pub data: CardData,
    pub photo: Photo,
    /// When the school accepted the photo: a revocation after this covers it.
    pub photo_accepted_at: DateTime<Utc>,
    /// SHA-256 of the message as the station understood it: redeliveries
    /// match, a changed order does not.
    pub content_sha256: String,
}

/// What validation needs to know about the station.
pub struct Context<'a> {
    pub school_rspo: &'a str,
    pub patterns: &'a dyn Fn(&str) -> bool,
}

fn schema(field: &str, message: &str) -> Rejection {
    Rejection::new(Code::Schema, Some(field), message)
}

fn text(field: &str, value: &str, max_chars: usize) -> Result<String, Rejection> {
    let clean = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if clean.is_empty() {
        return Err(schema(field, &format!("{field} is empty")));
    }
    if clean.chars().count() > max_chars {
        return Err(schema(
            field,
            &format!("{field} is over {max_chars} characters"),
        ));
    }
    if clean.chars().any(char::is_control) {
        return Err(schema(field, &format!("{field} has control characters")));
    }
    Ok(clean)
}

fn date(field: &str, value: &str) -> Result<NaiveDate, Rejection> {
    value
        .parse()
        .map_err(|_| schema(field, &format!("{field} must be a date YYYY-MM-DD")))
}

fn timestamp(field: &str, value: &str) -> Result<DateTime<Utc>, Rejection> {
    DateTime::parse_from_rfc3339(value)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| schema(field, &format!("{field} must be an RFC 3339 time")))
}

pub fn validate(msg: &OrderMsg, ctx: &Context) -> Result<ValidOrder, Rejection> {
    // Kept as sent: the central system matches its own string, and a cancel
    // names the order the same way.
    uuid::Uuid::parse_str(&msg.order_id)
        .map_err(|_| schema("order_id", "order_id must be a UUID"))?;
    let order_id = msg.order_id.clone();
    let created_at = timestamp("created_at", &msg.created_at)?;
    let reason = match msg.reason.as_str() {
        "new" => Reason::New,
        "duplicate" => Reason::Duplicate,
        "replacement" => Reason::Replacement,
        other => return Err(schema("reason", &format!("unknown reason {other:?}"))),
    };
    if !(ctx.patterns)(&msg.pattern) {
        return Err(Rejection::new(
            Code::PatternUnknown,
            Some("pattern"),
            &format!("this station has no template for pattern {:?}", msg.pattern),
        ));
    }
    let n = &msg.card.number;
    if n.is_empty()
        || n.chars().count() > 20
        || !n
            .chars()
            .all(|c| c.is_alphanumeric() || c == '/' || c == '-')
    {
        return Err(schema(
            "card.number",
            "card.number is 1 to 20 letters, digits, '/' and '-'",
        ));
    }
    let issue_date = date("card.issue_date", &msg.card.issue_date)?;
    let s = &msg.student;
    let birth_date = date("student.birth_date", &s.birth_date)?;
    let identity = match (&s.pesel, &s.identity_document) {
        (Some(p), _) => {
            let pesel = Pesel::parse(p, birth_date).map_err(|e| {
                let message = match e {
                    PeselError::DateMismatch(_) => {
                        "the PESEL's date does not match student.birth_date".to_string()
                    }
                    other => other.to_string(),
                };
                Rejection::new(Code::PeselInvalid, Some("student.pesel"), &message)
            })?;
            Identity::Pesel(pesel.as_str().to_string())
        }
        (None, Some(doc)) => Identity::Document {
            name: text("student.identity_document.name", &doc.name, 60)?,
            number: text("student.identity_document.number", &doc.number, 30)?,
        },
        (None, None) => {
            return Err(schema(
                "student.pesel",
                "a student without a PESEL needs student.identity_document",
            ))
        }
    };
    if msg.school.rspo != ctx.school_rspo {
        return Err(schema(
            "school.rspo",
            &format!(
                "this station serves school {}, not {}",
                ctx.school_rspo, msg.school.rspo
            ),
        ));
    }
    let data = CardData {
        order_id,
        created_at,
        reason,
        pattern: msg.pattern.clone(),
        card_number: n.clone(),
        issue_date,
        student_id: text("student.id", &s.id, 64)?,
        first_names: text("student.first_names", &s.first_names, 120)?,
        last_name: text("student.last_name", &s.last_name, 120)?,
        birth_date,
        identity,
        school_rspo: msg.school.rspo.clone(),
        school_name: text("school.name", &msg.school.name, 200)?,
        school_address: text("school.address", &msg.school.address, 200)?,
        headteacher: text("school.headteacher", &msg.school.headteacher, 120)?,
    };
    let photo_accepted_at = timestamp("photo.accepted_at", &msg.photo.accepted_at)?;
    let photo = Photo::from_message(&msg.photo.media_type, &msg.photo.sha256, &msg.photo.data)?;
    let canonical = serde_json::to_vec(msg).expect("an order serialises");
    Ok(ValidOrder {
        data,
        photo,
        photo_accepted_at,
        content_sha256: hex::encode(Sha256::digest(canonical)),
    })
}
