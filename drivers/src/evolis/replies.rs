//! What the printer's answers mean, read as the programming guide A5013
//! (rev. E) documents them: the printer's state from `Rlr;p`, `Rlr;r` and
//! `Rco;l`, and the causes behind `ERROR ...` replies. A pure reading, so
//! the driver and the simulator agree by construction and the tests check
//! every answer without a line.

use crate::status::{Cause, PrinterState, Status};

/// Error replies and their causes: the strings the vendor's library knows
/// (`libevolis`). The first entry for a cause is what the simulator says.
const ERRORS: &[(&str, Cause)] = &[
    ("ERROR FEEDER", Cause::FeederEmpty),
    ("ERROR MECHANICAL", Cause::CardJam),
    ("ERROR MECA", Cause::CardJam),
    ("ERROR CARD", Cause::CardJam),
    ("ERROR RIBBON", Cause::RibbonEnded),
    ("ERR RIB", Cause::NoRibbon),
    ("ERROR COVER", Cause::CoverOpen),
    ("ERROR HOPPER", Cause::HopperFull),
];

/// The cause behind an error reply, if it is one the vendor names.
pub fn error_reply_cause(reply: &str) -> Option<Cause> {
    ERRORS
        .iter()
        .find(|(prefix, _)| reply.starts_with(prefix))
        .map(|(_, c)| *c)
}

/// The reply a printer gives for a fault standing (what the simulator says).
pub fn error_reply(cause: Cause) -> &'static str {
    ERRORS
        .iter()
        .find(|(_, c)| *c == cause)
        .map_or("ERROR", |(text, _)| text)
}

/// A card is in the printing module (`Rlr;p`, p.34): printing, or stuck.
pub const CARD_INSIDE: &str = "ERR CARD";
/// No card in the feeder (`Rlr;p`, p.34).
pub const NO_CARD: &str = "NO CARD";
/// The cleaning counter ran out (`Rlr;r`, p.34).
pub const NEED_CLEANING: &str = "ERR NEED CLEANING";

/// Cards left on the ribbon at or below which it is reported low.
pub const RIBBON_LOW: u32 = 10;

/// The printer's state from the documented read commands: `last` is the
/// answer to `Rlr;p`, `cleaning` to `Rlr;r`, `ribbon` to `Rco;l` (cards the
/// ribbon still prints; the guide says it is not accurate, so it only
/// warns, and 0 stops). `None` when `last` is none of the documented
/// answers (line noise, a reply meant for another command): no reading.
pub fn documented_status(last: &str, cleaning: &str, ribbon: Option<u32>) -> Option<Status> {
    let feeder_empty = last == NO_CARD || error_reply_cause(last) == Some(Cause::FeederEmpty);
    // "NO CARD" is the feeder run out, a warning; an "ERROR FEEDER" standing
    // is a feeder fault, an error like any other.
    let (state, detail) = if last == CARD_INSIDE {
        (PrinterState::Printing, None)
    } else if last == NO_CARD {
        (PrinterState::Warning, Some(Cause::FeederEmpty))
    } else if let Some(cause) = error_reply_cause(last) {
        (PrinterState::Error, Some(cause))
    } else if last == "OK" {
        (PrinterState::Ready, None)
    } else {
        return None;
    };
    // Advice only where nothing more pressing stands.
    let advice = match ribbon {
        Some(0) => Some(Cause::RibbonEnded),
        Some(n) if n <= RIBBON_LOW => Some(Cause::RibbonLow),
        _ if cleaning == NEED_CLEANING => Some(Cause::CleaningRequired),
        _ => None,
    };
    let (state, detail) = match (state, advice) {
        (PrinterState::Ready, Some(c)) => (PrinterState::Warning, Some(c)),
        (PrinterState::Printing, Some(c)) => (PrinterState::Printing, Some(c)),
        _ => (state, detail),
    };
    Some(Status {
        state,
        detail,
        ribbon_remaining: ribbon,
        feeder_empty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(
        last: &str,
        cleaning: &str,
        ribbon: Option<u32>,
    ) -> Option<(PrinterState, Option<Cause>)> {
        documented_status(last, cleaning, ribbon).map(|s| (s.state, s.detail))
    }

    #[test]
    fn every_documented_answer_reads_as_a_state() {
        use PrinterState::*;
        assert_eq!(read("OK", "OK", Some(200)), Some((Ready, None)));
        assert_eq!(read(CARD_INSIDE, "OK", Some(200)), Some((Printing, None)));
        assert_eq!(
            read(NO_CARD, "OK", Some(200)),
            Some((Warning, Some(Cause::FeederEmpty)))
        );
        assert_eq!(
            read("OK", NEED_CLEANING, None),
            Some((Warning, Some(Cause::CleaningRequired)))
        );
        assert_eq!(
            read("OK", "OK", Some(3)),
            Some((Warning, Some(Cause::RibbonLow)))
        );
        assert_eq!(
            read("OK", "OK", Some(0)),
            Some((Warning, Some(Cause::RibbonEnded)))
        );
        // A card printing stays printing whatever it warns of.
        assert_eq!(
            read(CARD_INSIDE, "OK", Some(3)),
            Some((Printing, Some(Cause::RibbonLow)))
        );
        for cause in [
            Cause::CardJam,
            Cause::CoverOpen,
            Cause::RibbonEnded,
            Cause::NoRibbon,
            Cause::HopperFull,
        ] {
            assert_eq!(
                read(error_reply(cause), "OK", Some(200)),
                Some((Error, Some(cause))),
                "{cause}"
            );
        }
        let s = documented_status(error_reply(Cause::FeederEmpty), "OK", None).unwrap();
        assert!(s.feeder_empty && !s.can_print());
        // What is no documented answer is no reading, never "ready".
        for noise in ["", "~x#?%", "12", "ERR", "OKAY"] {
            assert_eq!(read(noise, "OK", Some(200)), None, "{noise:?}");
        }
    }

    #[test]
    fn error_replies_and_causes_agree_both_ways() {
        for (text, cause) in ERRORS {
            assert_eq!(error_reply_cause(text), Some(*cause));
            assert_eq!(error_reply_cause(error_reply(*cause)), Some(*cause));
        }
        assert_eq!(error_reply_cause("ERROR CDE"), None);
    }
}
