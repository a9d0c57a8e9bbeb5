//! A card order that passed validation. Only a [`ValidOrder`] can be queued
//! and printed; the raw [`OrderMsg`] never gets that far.

use crate::card::message::OrderMsg;
use crate::card::pesel::{Pesel, PeselError};
use crate::card::photo::Photo;
use crate::card::reject::{Code, Rejection};
use crate::card::repertoire::{self, Repertoire};
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
    /// The pupil's class (oddział), never printed: it groups a class's cards.
    #[serde(default)]
    pub class: Option<String>,
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

/// A text field NFC-normalised, its whitespace collapsed where it may have
/// spaces, every character checked against its [`Repertoire`], then its
/// length (in characters, after normalisation).
fn text(
    field: &str,
    value: &str,
    repertoire: Repertoire,
    max_chars: usize,
) -> Result<String, Rejection> {
    let clean = repertoire::normalise(field, value, repertoire)?;
    if clean.is_empty() {
        return Err(schema(field, &format!("{field} is empty")));
    }
    if clean.chars().count() > max_chars {
        return Err(schema(
            field,
            &format!("{field} is over {max_chars} characters"),
        ));
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
    // Exactly as sent (no space is allowed, so nothing is collapsed): the
    // number is the school's key.
    let n = text("card.number", &msg.card.number, Repertoire::CardNumber, 20)?;
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
            name: text(
                "student.identity_document.name",
                &doc.name,
                Repertoire::SchoolText,
                60,
            )?,
            number: text(
                "student.identity_document.number",
                &doc.number,
                Repertoire::DocumentNumber,
                30,
            )?,
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
        card_number: n,
        issue_date,
        student_id: {
            let id = text("student.id", &s.id, Repertoire::StudentId, 64)?;
            crate::card::message::student_id("student.id", &id)?;
            id
        },
        first_names: text(
            "student.first_names",
            &s.first_names,
            Repertoire::PersonalName,
            120,
        )?,
        last_name: text(
            "student.last_name",
            &s.last_name,
            Repertoire::PersonalName,
            120,
        )?,
        birth_date,
        identity,
        class: s
            .class
            .as_deref()
            .map(|c| text("student.class", c, Repertoire::SchoolText, 10))
            .transpose()?,
        school_rspo: msg.school.rspo.clone(),
        school_name: text("school.name", &msg.school.name, Repertoire::SchoolText, 200)?,
        school_address: text(
            "school.address",
            &msg.school.address,
            Repertoire::SchoolText,
            200,
        )?,
        headteacher: text(
            "school.headteacher",
            &msg.school.headteacher,
            Repertoire::PersonalName,
            120,
        )?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::message::{self, Inbound, TrustedKeys};
    use crate::card::render::Renderer;
    use crate::card::sample;
    use serde_json::{json, Value};

    fn renderer() -> Renderer {
        crate::card::sample::renderer()
    }

    /// Validated and laid out, as ingest does before queueing.
    fn check(o: &Value, r: &Renderer) -> Result<ValidOrder, Rejection> {
        let Ok(Inbound::Order(m)) =
            message::parse(o.to_string().as_bytes(), &TrustedKeys::default())
        else {
            panic!("the order parses")
        };
        crate::runtime::ingest::check(&m, r, sample::SCHOOL_RSPO)
    }

    /// Validated only: whether the characters pass, whatever the layout.
    fn validated(o: &Value) -> Result<ValidOrder, Rejection> {
        let Ok(Inbound::Order(m)) =
            message::parse(o.to_string().as_bytes(), &TrustedKeys::default())
        else {
            panic!("the order parses")
        };
        let ctx = Context {
            school_rspo: sample::SCHOOL_RSPO,
            patterns: &|_| true,
        };
        validate(&m, &ctx)
    }

    /// Sample order 0 with the JSON field at `path` (dotted) set to `value`.
    fn order_with(path: &str, value: &str) -> Value {
        let mut o = sample::order(0);
        if path.starts_with("student.identity_document.") {
            o["student"]["pesel"] = Value::Null;
            o["student"]["identity_document"] = json!({"name": "Paszport", "number": "AB 123"});
        }
        let mut at = &mut o;
        for key in path.split('.') {
            at = &mut at[key];
        }
        *at = json!(value);
        o
    }

    #[test]
    fn unreadable_text_is_refused_as_schema_naming_the_field_not_the_value() {
        let r = renderer();
        let stacked = format!("Kowa{}lska", "\u{301}".repeat(40));
        let cases: &[(&str, &str, &str)] = &[
            ("student.last_name", "Kowal\u{202E}ska", "U+202E"),
            ("student.last_name", "Kowal\u{200B}ska", "U+200B"),
            ("student.last_name", "Kowalska\u{1F600}", "U+1F600"),
            ("student.last_name", &stacked, "U+0301"),
            ("student.first_names", "Zofia\u{2066}Maria", "U+2066"),
            ("student.first_names", "Zofia\u{AD}Maria", "U+00AD"),
            ("student.first_names", "Zofia 2", "U+0032"),
            ("school.headteacher", "Grzegorz\u{FEFF} Nowak", "U+FEFF"),
            ("school.name", "Szkoła Podstawowa nr 7\u{202D}", "U+202D"),
            ("school.address", "ul. Źródlana 4\u{E000}, Łódź", "U+E000"),
            (
                "student.identity_document.name",
                "Paszport\u{200D}",
                "U+200D",
            ),
            (
                "student.identity_document.number",
                "AB\u{202E}123",
                "U+202E",
            ),
            ("student.id", "S-000\u{202E}123", "U+202E"),
            ("card.number", "\u{661}\u{662}/2025", "U+0661"),
            ("card.number", "12\u{FF0F}2025", "U+FF0F"),
        ];
        for (field, value, code_point) in cases {
            let e = check(&order_with(field, value), &r)
                .expect_err(&format!("{field} = {value:?} must be refused"));
            assert_eq!(e.code, Code::Schema, "{field}: {}", e.message);
            assert_eq!(e.field.as_deref(), Some(*field), "{}", e.message);
            assert!(e.message.contains(code_point), "{field}: {}", e.message);
            // Printable ASCII and the punctuation the message lists: never
            // the refused character itself.
            assert!(
                e.message.chars().all(|c| c == ' '
                    || c.is_ascii_graphic()
                    || repertoire::SCHOOL_PUNCTUATION.contains(&c)),
                "{field}: {}",
                e.message
            );
            assert!(!e.message.contains(value), "{}", e.message);
            for word in value.split(|c: char| !c.is_alphanumeric()) {
                assert!(
                    word.chars().count() < 3 || !e.message.contains(word),
                    "{field}: {word:?} echoed in {}",
                    e.message
                );
            }
        }
    }

    #[test]
    fn decomposed_text_is_stored_precomposed() {
        let r = renderer();
        let mut o = order_with("student.last_name", "Z\u{307}o\u{301}\u{142}kiewska");
        o["school"]["name"] = json!("Szkoła Podstawowa nr 7 w S\u{301}wie\u{328}tochłowicach");
        o["student"]["first_names"] = json!("  Zofia \u{A0}\tMaria ");
        let v = check(&o, &r).unwrap();
        assert_eq!(v.data.last_name, "\u{17B}\u{F3}\u{142}kiewska");
        assert_eq!(v.data.last_name, "Żółkiewska");
        assert_eq!(
            v.data.school_name,
            "Szkoła Podstawowa nr 7 w Świętochłowicach"
        );
        assert_eq!(v.data.first_names, "Zofia Maria");
    }

    #[test]
    fn real_names_with_hyphens_apostrophes_and_accents_print() {
        let r = renderer();
        for name in [
            "O'Brien",
            "O\u{2019}Brien",
            "Wiśniewska-Żółkiewska",
            "d'Artagnan",
            "Müller",
            "Đorđević",
            "Nguyễn",
            "Dvořák",
            "Straße",
            // Lithuanian: a tilde NFC cannot compose stays a mark.
            "Ą\u{303}žuolas",
        ] {
            let v = check(&order_with("student.last_name", name), &r)
                .unwrap_or_else(|e| panic!("{name:?}: {e}"));
            assert_eq!(v.data.last_name, name);
            let v = check(&order_with("school.headteacher", name), &r)
                .unwrap_or_else(|e| panic!("{name:?}: {e}"));
            assert_eq!(v.data.headteacher, name);
        }
    }

    #[test]
    fn every_polish_letter_in_both_cases_is_accepted() {
        let r = renderer();
        for name in [
            "aąbcćdeęfg hijklłmnń oóprsśtuwy zźż",
            "AĄBCĆDEĘFG HIJKLŁMNŃ OÓPRSŚTUWY ZŹŻ",
        ] {
            let v = check(&order_with("student.first_names", name), &r)
                .unwrap_or_else(|e| panic!("{name:?}: {e}"));
            assert_eq!(v.data.first_names, name);
        }
    }

    #[test]
    fn real_school_names_and_addresses_are_accepted() {
        for (field, value) in [
            (
                "school.name",
                "Szkoła Podstawowa nr 7 im. Marii Skłodowskiej-Curie",
            ),
            (
                "school.name",
                "Zespół Szkół Ogólnokształcących nr 1 „Sokół” w Nowym Sączu",
            ),
            (
                "school.name",
                "I Liceum Ogólnokształcące im. Tadeusza Kościuszki (Łódź)",
            ),
            (
                "school.address",
                "ul. Księcia Józefa Poniatowskiego 123/45, 41-600 Świętochłowice",
            ),
            ("student.identity_document.name", "Paszport (Ukraina)"),
            ("student.identity_document.number", "FX 1234567"),
        ] {
            validated(&order_with(field, value))
                .unwrap_or_else(|e| panic!("{field} = {value:?}: {e}"));
        }
    }

    #[test]
    fn card_numbers_are_ascii_and_kept_exactly() {
        let r = renderer();
        let v = check(&order_with("card.number", "A-12/2026"), &r).unwrap();
        assert_eq!(v.data.card_number, "A-12/2026");
        for bad in [
            " 12/2026",
            "12 /2026",
            "",
            "123456789012345678901",
            "12_2026",
        ] {
            let e = check(&order_with("card.number", bad), &r).unwrap_err();
            assert_eq!(e.code, Code::Schema);
            assert_eq!(e.field.as_deref(), Some("card.number"), "{bad:?}");
        }
    }

    #[test]
    fn the_sample_orders_all_pass() {
        let r = renderer();
        for i in 0..16 {
            check(&sample::order(i), &r).unwrap_or_else(|e| panic!("sample {i}: {e}"));
        }
    }
}
