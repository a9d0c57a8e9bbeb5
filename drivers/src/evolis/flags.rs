//! The Evolis status words and what they mean for the station.
//!
//! Masks are those of the vendor's public C header `evolis.h` (the SDK's
//! status structure holds four 32-bit words: CFG, INF, WAR, ERR); names follow
//! the vendor's Python SDK `evolis-sdk` 9.4.1 (`Status.py`). A word not listed
//! here is ignored rather than guessed at.

use crate::status::{Cause, PrinterState, Status};

pub const INF_BUSY: u32 = 0x0000_0001;
pub const INF_PRINTING_RUNNING: u32 = 0x0000_0080;
pub const INF_CLEANING_REQUIRED: u32 = 0x0000_0100;
pub const INF_CLEANING: u32 = 0x0002_0000;
pub const INF_CLEANING_MANDATORY: u32 = 0x0004_0000;
pub const INF_RIBBON_LOW: u32 = 0x0008_0000;
pub const INF_CARD_PRINT: u32 = 0x0200_0000;

pub const WAR_FEEDER_OPEN: u32 = 0x0000_0100;
pub const WAR_UNSUPPORTED_RIBBON: u32 = 0x0000_8000;
pub const WAR_NO_RIBBON: u32 = 0x0001_0000;
pub const WAR_COVER_OPEN: u32 = 0x0002_0000;
pub const WAR_RIBBON_ENDED: u32 = 0x0008_0000;
pub const WAR_HOPPER_FULL: u32 = 0x0010_0000;
pub const WAR_FEEDER_EMPTY: u32 = 0x0100_0000;

pub const ERR_FEEDER_OPEN: u32 = 0x0000_0080;
pub const ERR_NO_CARD_INSERTED: u32 = 0x0000_0100;
pub const ERR_HOPPER_FULL: u32 = 0x0010_0000;
pub const ERR_RIBBON_ENDED: u32 = 0x0020_0000;
pub const ERR_BAD_RIBBON: u32 = 0x0040_0000;
pub const ERR_MECHANICAL: u32 = 0x0100_0000;
pub const ERR_COVER_OPEN: u32 = 0x0200_0000;
pub const ERR_RIBBON_ERROR: u32 = 0x0400_0000;
pub const ERR_FEEDER_ERROR: u32 = 0x0800_0000;

/// Errors first, in the order an operator should fix them.
const ERRORS: &[(u32, Cause)] = &[
    (ERR_COVER_OPEN, Cause::CoverOpen),
    (ERR_MECHANICAL, Cause::CardJam),
    (ERR_RIBBON_ENDED, Cause::RibbonEnded),
    (ERR_RIBBON_ERROR, Cause::NoRibbon),
    (ERR_BAD_RIBBON, Cause::UnsupportedRibbon),
    (ERR_HOPPER_FULL, Cause::HopperFull),
    (ERR_FEEDER_ERROR, Cause::FeederEmpty),
    (ERR_NO_CARD_INSERTED, Cause::FeederEmpty),
    (ERR_FEEDER_OPEN, Cause::FeederEmpty),
];

const WARNINGS: &[(u32, Cause)] = &[
    (WAR_COVER_OPEN, Cause::CoverOpen),
    (WAR_RIBBON_ENDED, Cause::RibbonEnded),
    (WAR_NO_RIBBON, Cause::NoRibbon),
    (WAR_UNSUPPORTED_RIBBON, Cause::UnsupportedRibbon),
    (WAR_HOPPER_FULL, Cause::HopperFull),
    (WAR_FEEDER_EMPTY, Cause::FeederEmpty),
    (WAR_FEEDER_OPEN, Cause::FeederEmpty),
];

const ADVICE: &[(u32, Cause)] = &[
    (INF_CLEANING_MANDATORY, Cause::CleaningRequired),
    (INF_CLEANING_REQUIRED, Cause::CleaningRequired),
    (INF_CLEANING, Cause::CleaningRequired),
    (INF_RIBBON_LOW, Cause::RibbonLow),
];

/// The four status words as the printer reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Words {
    pub cfg: u32,
    pub inf: u32,
    pub war: u32,
    pub err: u32,
}

impl Words {
    /// `CFG;INF;WAR;ERR`, each eight hex digits.
    pub fn encode(&self) -> String {
        format!(
            "{:08X};{:08X};{:08X};{:08X}",
            self.cfg, self.inf, self.war, self.err
        )
    }

    pub fn parse(reply: &str) -> Option<Words> {
        let mut it = reply
            .trim()
            .split(';')
            .map(|w| u32::from_str_radix(w.trim(), 16));
        let words = Words {
            cfg: it.next()?.ok()?,
            inf: it.next()?.ok()?,
            war: it.next()?.ok()?,
            err: it.next()?.ok()?,
        };
        it.next().is_none().then_some(words)
    }

    pub fn to_status(&self, ribbon_remaining: Option<u32>) -> Status {
        let first = |table: &[(u32, Cause)], word: u32| {
            table
                .iter()
                .find(|(mask, _)| word & mask != 0)
                .map(|(_, c)| *c)
        };
        // Errors stop a card; warnings only stop the next one, so a card
        // still printing is reported as printing whatever it warns of.
        let (state, detail) = if let Some(c) = first(ERRORS, self.err) {
            (PrinterState::Error, Some(c))
        } else if self.inf & (INF_PRINTING_RUNNING | INF_CARD_PRINT | INF_BUSY) != 0 {
            (
                PrinterState::Printing,
                first(WARNINGS, self.war).or_else(|| first(ADVICE, self.inf)),
            )
        } else if let Some(c) = first(WARNINGS, self.war) {
            (PrinterState::Warning, Some(c))
        } else if let Some(c) = first(ADVICE, self.inf) {
            (PrinterState::Warning, Some(c))
        } else {
            (PrinterState::Ready, None)
        };
        Status {
            state,
            detail,
            ribbon_remaining,
            feeder_empty: self.war & WAR_FEEDER_EMPTY != 0,
        }
    }
}

/// The word and mask that report a cause, for a simulator that must raise it.
pub fn raise(cause: Cause, as_error: bool) -> Words {
    let mut w = Words::default();
    let table = if as_error { ERRORS } else { WARNINGS };
    if let Some((mask, _)) = table.iter().find(|(_, c)| *c == cause) {
        if as_error {
            w.err = *mask;
        } else {
            w.war = *mask;
        }
    } else if let Some((mask, _)) = ADVICE.iter().find(|(_, c)| *c == cause) {
        w.inf = *mask;
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_the_simulator_can_raise_reads_back_as_itself() {
        for cause in [
            Cause::CoverOpen,
            Cause::CardJam,
            Cause::RibbonEnded,
            Cause::FeederEmpty,
            Cause::HopperFull,
            Cause::UnsupportedRibbon,
        ] {
            let st = raise(cause, true).to_status(None);
            assert_eq!(st.state, PrinterState::Error);
            assert_eq!(st.detail, Some(cause));
            assert!(!st.can_print());
        }
        let low = raise(Cause::RibbonLow, false).to_status(Some(3));
        assert_eq!(low.state, PrinterState::Warning);
        assert!(low.can_print(), "a low ribbon still prints");
        let empty = raise(Cause::FeederEmpty, false).to_status(None);
        assert!(!empty.can_print());
    }

    #[test]
    fn words_round_trip_and_reject_garbage() {
        let w = Words {
            cfg: 0x8000_0000,
            inf: 0x80,
            war: 0,
            err: 0x0100_0000,
        };
        assert_eq!(Words::parse(&w.encode()), Some(w));
        assert_eq!(Words::parse("OK"), None);
        assert_eq!(Words::parse("1;2;3"), None);
        assert_eq!(Words::parse("1;2;3;4;5"), None);
    }
}
