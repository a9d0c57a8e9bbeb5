//! Events the station reports to the central system (contract `mqtt-v1`,
//! "station -> central"). Built here, stored in the outbox, published later.

use crate::card::reject::{Code, Rejection};
use chrono::{SecondsFormat, Utc};
use serde_json::{json, Map, Value};

pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One event before the station's name and the time are stamped on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: &'static str,
    pub order_id: Option<String>,
    pub fields: Map<String, Value>,
}

impl Event {
    fn new(kind: &'static str, order_id: Option<&str>, fields: Value) -> Self {
        Event {
            kind,
            order_id: order_id.map(str::to_string),
            // Every event stays small enough to publish, whatever text an
            // error or a printer put in it.
            fields: match fields {
                Value::Object(m) => m
                    .into_iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => (k, Value::String(crate::card::reject::clip(&s, 1000))),
                        v => (k, v),
                    })
                    .collect(),
                _ => Map::new(),
            },
        }
    }

    pub fn accepted(order_id: &str, card_number: &str) -> Self {
        Self::new(
            "order.accepted",
            Some(order_id),
            json!({ "card_number": card_number }),
        )
    }

    pub fn rejected(order_id: Option<&str>, r: &Rejection) -> Self {
        Self::new(
            "order.rejected",
            order_id,
            json!({ "code": r.code.as_str(), "message": r.message, "field": r.field }),
        )
    }

    /// A yearly validation hologram went on a card (contract: `card_number`,
    /// `school_year`, `hologram_serial`, `valid_until`; `slot` is which of
    /// the card's eight fields).
    pub fn hologram_applied(
        order_id: &str,
        card_number: &str,
        school_year: &str,
        serial: &str,
        valid_until: chrono::NaiveDate,
        slot: i64,
    ) -> Self {
        Self::new(
            "hologram.applied",
            Some(order_id),
            json!({
                "card_number": card_number,
                "school_year": school_year,
                "hologram_serial": serial,
                "valid_until": valid_until.to_string(),
                "slot": slot,
            }),
        )
    }

    pub fn cancelled(order_id: &str) -> Self {
        Self::new("order.cancelled", Some(order_id), json!({}))
    }

    pub fn held(order_id: &str, code: &str, message: &str) -> Self {
        Self::new(
            "order.held",
            Some(order_id),
            json!({ "code": code, "message": message }),
        )
    }

    pub fn printed(order_id: &str, p: &PrintedFields) -> Self {
        Self::new(
            "card.printed",
            Some(order_id),
            json!({
                "card_number": p.card_number,
                "printer_model": p.printer_model,
                "printer_serial": p.printer_serial,
                "batch_id": p.batch_id,
                "operator": p.operator,
                "blank_pattern": p.blank_pattern,
                "blank_serial": p.blank_serial,
            }),
        )
    }

    pub fn failed(order_id: &str, code: &str, message: &str) -> Self {
        Self::new(
            "card.failed",
            Some(order_id),
            json!({ "code": code, "message": message }),
        )
    }

    /// `blank_pattern` is beside the contract's `blank_serial`: a serial
    /// names a blank only with its pattern.
    pub fn spoiled(
        order_id: &str,
        card_number: &str,
        blank_pattern: Option<&str>,
        blank_serial: Option<&str>,
        cause: &str,
    ) -> Self {
        Self::new(
            "card.spoiled",
            Some(order_id),
            json!({ "card_number": card_number, "blank_pattern": blank_pattern,
                    "blank_serial": blank_serial, "cause": cause }),
        )
    }

    /// Not in the contract's table (see README): a hologram sticker was
    /// spoiled, on a card (`card_number`, `slot`) or before it reached one.
    pub fn hologram_spoiled(
        order_id: Option<&str>,
        card_number: Option<&str>,
        school_year: &str,
        serial: &str,
        slot: Option<i64>,
        reason: &str,
    ) -> Self {
        Self::new(
            "hologram.spoiled",
            order_id,
            json!({
                "card_number": card_number,
                "school_year": school_year,
                "hologram_serial": serial,
                "slot": slot,
                "reason": reason,
            }),
        )
    }

    /// Not in the contract's table (see README): a card was handed back to
    /// the school; it stays in the register, marked, and is no longer valid.
    pub fn card_returned(
        order_id: &str,
        card_number: &str,
        blank_serial: Option<&str>,
        reason: &str,
    ) -> Self {
        Self::new(
            "card.returned",
            Some(order_id),
            json!({ "card_number": card_number, "blank_serial": blank_serial, "reason": reason }),
        )
    }

    /// Not in the contract's table (see DESIGN.md): the queue stopped because
    /// the printer cannot print, and why. The state says the same, retained.
    pub fn printer_paused(cause: &str) -> Self {
        Self::new("printer.paused", None, json!({ "cause": cause }))
    }

    pub fn printer_resumed(after: &str) -> Self {
        Self::new("printer.resumed", None, json!({ "after": after }))
    }

    pub fn photo_purged(student_id: &str) -> Self {
        Self::new("photo.purged", None, json!({ "student_id": student_id }))
    }

    /// A cancel for a card that exists already changes nothing on it.
    pub fn cancel_refused(order_id: &str, why: &str) -> Self {
        Self::rejected(
            Some(order_id),
            &Rejection::new(Code::AlreadyPrinted, Some("order_id"), why),
        )
    }

    /// The JSON as published.
    pub fn to_json(&self, station: &str) -> String {
        let mut m = Map::new();
        m.insert("type".into(), json!(self.kind));
        m.insert("station".into(), json!(station));
        m.insert("at".into(), json!(now()));
        if let Some(id) = &self.order_id {
            m.insert("order_id".into(), json!(id));
        }
        for (k, v) in &self.fields {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m).to_string()
    }
}

/// What `card.printed` reports about the printer and the batch.
#[derive(Debug, Clone)]
pub struct PrintedFields {
    pub card_number: String,
    pub printer_model: String,
    pub printer_serial: String,
    pub batch_id: Option<String>,
    pub operator: Option<String>,
    /// The blank the card is on: its pattern and serial, or neither.
    pub blank_pattern: Option<String>,
    pub blank_serial: Option<String>,
}
