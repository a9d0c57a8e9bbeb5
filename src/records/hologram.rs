//! Yearly validation holograms: the school year a sticker validates, the
//! serials of a delivery, and the reasons a sticker may not go on a card.
//!
//! A card has eight hologram fields on its back, one per school year. The
//! stickers are strictly accounted forms: every serial received is in stock,
//! on a card, or spoiled, and the school must be able to show which.

use chrono::NaiveDate;
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Hologram fields on the back of a card.
pub const FIELDS: i64 = 8;

/// A school year as written on the forms: `2025/2026`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SchoolYear {
    first: i32,
}

impl SchoolYear {
    /// The school year `day` falls in: from 1 September to 31 August.
    pub fn of(day: NaiveDate) -> Self {
        use chrono::Datelike;
        let first = if day.month() >= 9 {
            day.year()
        } else {
            day.year() - 1
        };
        SchoolYear { first }
    }

    /// The last day a hologram of this year validates the card: 30 September
    /// of the year's second calendar year (a card stays valid while the next
    /// year's holograms are being applied).
    pub fn valid_until(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.first + 1, 9, 30).expect("30 September exists")
    }
}

impl fmt::Display for SchoolYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.first, self.first + 1)
    }
}

impl FromStr for SchoolYear {
    type Err = HologramError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || HologramError::SchoolYear(s.to_string());
        let (a, b) = s.trim().split_once('/').ok_or_else(bad)?;
        let (a, b): (i32, i32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if !(2000..=2200).contains(&a) || b != a + 1 {
            return Err(bad());
        }
        Ok(SchoolYear { first: a })
    }
}

/// Why a hologram was not recorded. Each says what to do about it.
#[derive(Debug, Error, PartialEq)]
pub enum HologramError {
    #[error("{0:?} is not a school year: write it as 2025/2026")]
    SchoolYear(String),
    #[error(transparent)]
    Serial(#[from] crate::records::serial::SerialError),
    #[error("card {0} is not in this station's register")]
    NotInRegister(String),
    #[error("card {card} was superseded by card {by} issued to the same pupil; validate that one")]
    Superseded { card: String, by: String },
    #[error("card {card} already carries the hologram for {year} (serial {serial})")]
    YearOnCard {
        card: String,
        year: String,
        serial: String,
    },
    #[error("card {card} was returned on {on} ({reason}); it takes no more holograms")]
    Returned {
        card: String,
        on: String,
        reason: String,
    },
    #[error("card {0} was already returned")]
    AlreadyReturned(String),
    #[error("card {0} has all 8 hologram fields used: the pupil needs a new card (a duplicate)")]
    FieldsFull(String),
    #[error(
        "hologram {0} was never received: record its delivery first (legitka holograms receive)"
    )]
    NotReceived(String),
    #[error("hologram {serial} is already {status}{on}")]
    Used {
        serial: String,
        status: String,
        on: String,
    },
    #[error("hologram {serial} is for {its_year}, not {year}")]
    OtherYear {
        serial: String,
        its_year: String,
        year: String,
    },
    #[error("hologram {0} was already received (in a delivery for {1})")]
    AlreadyReceived(String, String),
    #[error("class {0} has no current card in the register")]
    EmptyClass(String),
    #[error(
        "only {have} holograms for {year} in stock from {first} on, and class {class} needs {need}"
    )]
    NotEnough {
        class: String,
        year: String,
        first: String,
        have: usize,
        need: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn school_years_are_two_consecutive_years() {
        let y: SchoolYear = "2025/2026".parse().unwrap();
        assert_eq!(y.to_string(), "2025/2026");
        assert_eq!(
            y.valid_until(),
            NaiveDate::from_ymd_opt(2026, 9, 30).unwrap()
        );
        for bad in ["2025/2027", "2025", "2025-2026", "abcd/abce", "2026/2025"] {
            assert!(bad.parse::<SchoolYear>().is_err(), "{bad}");
        }
    }
}
