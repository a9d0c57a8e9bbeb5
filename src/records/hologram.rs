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

    /// The school year today is in, in Poland.
    pub fn current() -> Self {
        Self::of(crate::records::clock::today())
    }

    /// Its first and last day: 1 September to 31 August.
    pub fn days(self) -> (NaiveDate, NaiveDate) {
        (
            NaiveDate::from_ymd_opt(self.first, 9, 1).expect("1 September exists"),
            NaiveDate::from_ymd_opt(self.first + 1, 8, 31).expect("31 August exists"),
        )
    }

    pub fn previous(self) -> Self {
        SchoolYear {
            first: self.first - 1,
        }
    }

    pub fn next(self) -> Self {
        SchoolYear {
            first: self.first + 1,
        }
    }

    /// The school years a hologram may be applied for on `day`: the one it
    /// is in, and from 1 June also the next (cards are validated before
    /// the holidays). Never an earlier one: it has expired.
    pub fn open_on(day: NaiveDate) -> Vec<SchoolYear> {
        use chrono::Datelike;
        let now = Self::of(day);
        if (6..=8).contains(&day.month()) {
            vec![now, now.next()]
        } else {
            vec![now]
        }
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
    #[error("holograms for {year} cannot be applied today: only for {open}")]
    YearNotOpen { year: String, open: String },
    #[error("holograms for {year} have expired: a delivery is for {open}")]
    YearOver { year: String, open: String },
    #[error("card {card} was issued on {issued}, in {its_year}: it takes no hologram for the earlier {year}")]
    BeforeIssue {
        card: String,
        issued: String,
        its_year: String,
        year: String,
    },
    #[error("hologram {serial} is on card {on}, not on {card}: name the card it is on")]
    OnAnotherCard {
        serial: String,
        on: String,
        card: String,
    },
    #[error("hologram {0} is on a card: name the card (--card) so the register shows which field is spoiled")]
    CardNeeded(String),
    #[error("a delivery of {count} holograms is more than {max}: check the count on the delivery note, then confirm it (--confirm-large)")]
    LargeDelivery { count: u32, max: u32 },
    #[error(transparent)]
    Serial(#[from] crate::records::serial::SerialError),
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
    #[error("class {0} has no current card issued in {1} without this year's hologram")]
    EmptyClass(String, String),
    #[error("no cards were named")]
    NoCards,
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

    #[test]
    fn a_hologram_year_opens_in_its_september_and_the_next_one_in_june() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let y = |s: &str| s.parse::<SchoolYear>().unwrap();
        assert_eq!(SchoolYear::open_on(d("2026-11-29")), [y("2026/2027")]);
        assert_eq!(SchoolYear::open_on(d("2027-05-31")), [y("2026/2027")]);
        assert_eq!(
            SchoolYear::open_on(d("2027-06-01")),
            [y("2026/2027"), y("2027/2028")]
        );
        assert_eq!(
            SchoolYear::open_on(d("2027-08-31")),
            [y("2026/2027"), y("2027/2028")]
        );
        assert_eq!(SchoolYear::open_on(d("2027-09-01")), [y("2027/2028")]);
    }
}
