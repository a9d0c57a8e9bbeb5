//! The central system's messages as they arrive on the wire (contract
//! `mqtt-v1`), before anything is checked. Validation turns an
//! [`OrderMsg`] into a [`crate::card::order::ValidOrder`]; nothing else prints.

use crate::card::reject::{quote, Code, Rejection};
use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OrderMsg {
    pub order_id: String,
    pub created_at: String,
    pub reason: String,
    pub pattern: String,
    pub card: CardMsg,
    pub student: StudentMsg,
    pub school: SchoolMsg,
    pub photo: PhotoMsg,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CardMsg {
    pub number: String,
    pub issue_date: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StudentMsg {
    pub id: String,
    pub first_names: String,
    pub last_name: String,
    pub birth_date: String,
    pub pesel: Option<String>,
    pub identity_document: Option<IdentityDocumentMsg>,
    /// Optional; left out of the content hash when absent, so orders stored
    /// before it existed still match their redeliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IdentityDocumentMsg {
    pub name: String,
    pub number: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SchoolMsg {
    pub rspo: String,
    pub name: String,
    pub address: String,
    pub headteacher: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PhotoMsg {
    pub media_type: String,
    pub sha256: String,
    pub data: String,
    pub accepted_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_error_never_repeats_the_value_it_refused() {
        let mut o = crate::card::sample::order(0);
        o["student"]["pesel"] = serde_json::json!(17231412344u64);
        let Err((_, r)) = parse(o.to_string().as_bytes(), &TrustedKeys::default()) else {
            panic!("a number is not a PESEL string")
        };
        assert_eq!(r.field.as_deref(), Some("student.pesel"));
        assert!(!r.message.contains("17231412344"), "{}", r.message);
        o["student"].as_object_mut().unwrap().remove("pesel");
        o["student"].as_object_mut().unwrap().remove("last_name");
        let Err((_, r)) = parse(o.to_string().as_bytes(), &TrustedKeys::default()) else {
            panic!()
        };
        assert!(r.message.contains("last_name"), "{}", r.message);
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CancelMsg {
    pub order_id: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RevokeMsg {
    pub student_id: String,
    pub created_at: String,
}

/// A message from the central system, its shape checked.
#[derive(Debug, Clone)]
pub enum Inbound {
    Order(Box<OrderMsg>),
    Cancel(CancelMsg),
    Revoke(RevokeMsg),
}

#[derive(Deserialize)]
struct Envelope {
    key_id: String,
    payload: String,
    sig: String,
}

/// The central system's Ed25519 public keys, by `key_id`, and whether a
/// signature is required even with none configured (`require_signed`).
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys(BTreeMap<String, VerifyingKey>, bool);

impl TrustedKeys {
    /// Keys as configured: key id to base64 of the 32-byte public key.
    pub fn from_config(
        keys: &BTreeMap<String, String>,
        require_signed: bool,
    ) -> Result<Self, String> {
        let mut out = BTreeMap::new();
        for (id, b64) in keys {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| format!("key {id}: {e}"))?;
            let arr: [u8; 32] = bytes
                .try_into()
                .map_err(|_| format!("key {id}: an Ed25519 public key is 32 bytes"))?;
            let key = VerifyingKey::from_bytes(&arr).map_err(|e| format!("key {id}: {e}"))?;
            out.insert(id.clone(), key);
        }
        Ok(TrustedKeys(out, require_signed))
    }

    /// Whether unsigned messages are taken (no key set, none required).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty() && !self.1
    }

    /// The inner bytes of a signed envelope, if its signature holds.
    fn open(&self, raw: &[u8]) -> Result<Vec<u8>, Rejection> {
        let bad = |m: &str| Rejection::new(Code::SignatureInvalid, None, m);
        if self.0.is_empty() {
            return Err(bad("this station requires signed orders (require_signed) and has no central_keys configured: nothing is accepted until the central system's public key is set"));
        }
        let env: Envelope = serde_json::from_slice(raw)
            .map_err(|_| bad("message is not a signed envelope and keys are configured"))?;
        let key = self
            .0
            .get(&env.key_id)
            .ok_or_else(|| bad(&format!("unknown key_id {}", quote(&env.key_id))))?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let payload = b64
            .decode(&env.payload)
            .map_err(|_| bad("payload is not base64"))?;
        let sig = b64.decode(&env.sig).map_err(|_| bad("sig is not base64"))?;
        let sig =
            Signature::from_slice(&sig).map_err(|_| bad("sig is not an Ed25519 signature"))?;
        key.verify(&payload, &sig)
            .map_err(|_| bad("signature does not match the payload"))?;
        Ok(payload)
    }
}

/// serde quotes the offending value in backticks ("invalid type: integer
/// `17231412344`"): that may be a PESEL, and rejections are logged and
/// published. Field names (in "missing field `x`") are kept.
fn without_values(message: &str) -> String {
    if message.starts_with("missing field") || message.starts_with("unknown field") {
        return message.to_string();
    }
    message
        .split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { "…" } else { part })
        .collect()
}

/// The fields every message is first read for; everything else is skipped
/// unread (serde's `IgnoredAny` allocates nothing).
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type", default)]
    kind: TextOrSkip,
    #[serde(default)]
    order_id: TextOrSkip,
}

/// A string, or anything else skipped without being kept: `"order_id": [..]`
/// must not make the head fail (the typed pass names the field) nor be read
/// into memory.
#[derive(Default)]
struct TextOrSkip(Option<String>);

impl<'de> Deserialize<'de> for TextOrSkip {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TextOrSkip;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<TextOrSkip, E> {
                Ok(TextOrSkip(Some(v.to_string())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<TextOrSkip, E> {
                Ok(TextOrSkip(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<TextOrSkip, E> {
                Ok(TextOrSkip(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<TextOrSkip, E> {
                Ok(TextOrSkip(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<TextOrSkip, E> {
                Ok(TextOrSkip(None))
            }
            fn visit_unit<E>(self) -> Result<TextOrSkip, E> {
                Ok(TextOrSkip(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<TextOrSkip, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(TextOrSkip(None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<TextOrSkip, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(TextOrSkip(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// The id a message names, for addressing a rejection even when the message
/// is otherwise unusable; only a real UUID is ever echoed back.
pub fn order_id_hint_str(id: &str) -> Option<String> {
    (id.len() <= 36 && uuid::Uuid::parse_str(id).is_ok()).then(|| id.to_string())
}

/// A student id as the contract uses it (`S-000123`): 1 to 64 ASCII letters,
/// digits and `- _ . /`, beginning with a letter or digit. It is published
/// back in `photo.purged` and written in reports and CSV exports, where a
/// value beginning with `=`, `+`, `-` or `@` would be a spreadsheet formula.
pub fn student_id(field: &str, id: &str) -> Result<(), Rejection> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || crate::card::repertoire::STUDENT_ID_PUNCTUATION.contains(&c)
        });
    if !ok {
        return Err(Rejection::new(
            Code::Schema,
            Some(field),
            &format!("{field} must be 1 to 64 ASCII letters, digits and - _ . /, beginning with a letter or digit"),
        ));
    }
    Ok(())
}

/// Parses one message from the `orders` or `revocations` topic.
///
/// On failure the rejection carries the order id when one could be read.
/// Largest message read at all: a 5 MB photo in base64, in a signed
/// envelope's base64, with room for the rest. A larger one is refused before
/// parsing (a JSON value costs many times its text in memory).
pub const MAX_MESSAGE_BYTES: usize = 10_000_000;

pub fn parse(raw: &[u8], keys: &TrustedKeys) -> Result<Inbound, (Option<String>, Rejection)> {
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err((
            None,
            Rejection::new(
                Code::PhotoTooLarge,
                None,
                &format!(
                    "the message is {} bytes, over the {MAX_MESSAGE_BYTES} an order with a 5 MB photo needs",
                    raw.len()
                ),
            ),
        ));
    }
    let inner;
    let bytes = if keys.is_empty() {
        raw
    } else {
        inner = keys.open(raw).map_err(|r| (None, r))?;
        &inner[..]
    };
    // Straight into the typed message: a JSON value first would cost many
    // times the message in memory (a 9.8 MB array of numbers is 200 MB as
    // a `Value`). The head reads `type` and `order_id` and skips the rest.
    let head: Head = serde_json::from_slice(bytes).map_err(|e| {
        (
            None,
            Rejection::new(
                Code::Schema,
                None,
                &format!("not a JSON object: {}", without_values(&e.to_string())),
            ),
        )
    })?;
    let hint = head.order_id.0.as_deref().and_then(order_id_hint_str);
    let fail = |r: Rejection| (hint.clone(), r);
    let kind = head.kind.0.as_deref().ok_or_else(|| {
        fail(Rejection::new(
            Code::Schema,
            Some("type"),
            "type is missing",
        ))
    })?;
    fn typed<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Rejection> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            Rejection::new(
                Code::Schema,
                Some(&path),
                &format!("{path}: {}", without_values(&e.into_inner().to_string())),
            )
        })
    }
    match kind {
        "card.order" => typed::<OrderMsg>(bytes)
            .map(|o| Inbound::Order(Box::new(o)))
            .map_err(fail),
        "card.cancel" => typed(bytes).map(Inbound::Cancel).map_err(fail),
        "photo.revoke" => typed(bytes).map(Inbound::Revoke).map_err(fail),
        other => Err(fail(Rejection::new(
            Code::Schema,
            Some("type"),
            &format!("unknown message type {}", quote(other)),
        ))),
    }
}
