//! Why an order cannot be printed as sent, in the contract's stable words.

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    Schema,
    Conflict,
    PatternUnknown,
    PeselInvalid,
    PhotoChecksum,
    PhotoFormat,
    PhotoTooSmall,
    PhotoTooLarge,
    PhotoNotColour,
    TextOverflow,
    SignatureInvalid,
    /// A cancel for a card that already left the printer.
    AlreadyPrinted,
    /// The station could not store a valid message (its database refused it).
    StationError,
    /// Not printed within the station's retention period: its data is deleted.
    Expired,
    /// Held (its photo revoked) and discarded by the operator: its data is deleted.
    Discarded,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Schema => "schema",
            Code::Conflict => "conflict",
            Code::PatternUnknown => "pattern_unknown",
            Code::PeselInvalid => "pesel_invalid",
            Code::PhotoChecksum => "photo_checksum",
            Code::PhotoFormat => "photo_format",
            Code::PhotoTooSmall => "photo_too_small",
            Code::PhotoTooLarge => "photo_too_large",
            Code::PhotoNotColour => "photo_not_colour",
            Code::TextOverflow => "text_overflow",
            Code::SignatureInvalid => "signature_invalid",
            Code::AlreadyPrinted => "already_printed",
            Code::StationError => "station_error",
            Code::Expired => "expired",
            Code::Discarded => "discarded",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Rejection {
    pub code: Code,
    /// The offending field as a path (`student.pesel`), where there is one.
    pub field: Option<String>,
    pub message: String,
}

/// Longest field path and message a rejection carries. A hostile message
/// must not be able to make the answer to it large.
pub const MAX_FIELD_CHARS: usize = 64;
pub const MAX_MESSAGE_CHARS: usize = 400;

/// At most `max` characters of `s`, with an ellipsis where it was cut.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A refused value as a rejection may quote it: a short prefix, control and
/// invisible characters shown as U+FFFD, in plain quotes. Escaping is left to
/// the JSON encoder, so nothing is escaped twice.
pub fn quote(value: &str) -> String {
    let shown: String = value
        .chars()
        .map(|c| {
            if c.is_control() || is_invisible(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    format!("“{}”", clip(&shown, 64))
}

/// Format characters that change how text around them reads (bidi controls,
/// zero-width characters) without showing themselves.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

impl Rejection {
    pub fn new(code: Code, field: Option<&str>, message: &str) -> Self {
        Rejection {
            code,
            field: field.map(|f| clip(f, MAX_FIELD_CHARS)),
            message: clip(message, MAX_MESSAGE_CHARS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_value_is_short_and_escaped_once_by_json() {
        let hostile = "\"".repeat(1_000_000);
        let r = Rejection::new(
            Code::Schema,
            Some("type"),
            &format!("unknown type {}", quote(&hostile)),
        );
        let json = serde_json::to_string(&r.message).unwrap();
        assert!(json.len() < 200, "{} bytes", json.len());
        // One backslash per quote: escaped by JSON, not before.
        assert!(json.contains("\\\"\\\""), "{json}");
        assert!(!json.contains("\\\\"), "{json}");
        assert_eq!(quote("a\u{202E}b\nc"), "“a\u{FFFD}b\u{FFFD}c”");
        let long = Rejection::new(Code::Schema, Some(&"x".repeat(10_000)), &"y".repeat(10_000));
        assert!(long.field.unwrap().chars().count() <= MAX_FIELD_CHARS + 1);
        assert!(long.message.chars().count() <= MAX_MESSAGE_CHARS + 1);
    }
}
