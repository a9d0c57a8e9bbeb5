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

impl Rejection {
    pub fn new(code: Code, field: Option<&str>, message: &str) -> Self {
        Rejection {
            code,
            field: field.map(str::to_string),
            message: message.to_string(),
        }
    }
}
