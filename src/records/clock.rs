//! The school's clock. A card's date of issue, a hologram's school year and
//! every time shown to a person are Poland's, whatever zone the
//! workstation's clock is set to; the database keeps UTC.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

pub const ZONE: Tz = chrono_tz::Europe::Warsaw;

/// Today in Poland. A debug build (the tests') takes the date from
/// `LEGITKA_TEST_TODAY` (`2025-10-01`) when it is set, so a school year's rules
/// can be tried on any day; a release build never reads it.
pub fn today() -> NaiveDate {
    if cfg!(debug_assertions) {
        if let Some(d) = std::env::var("LEGITKA_TEST_TODAY")
            .ok()
            .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        {
            return d;
        }
    }
    Utc::now().with_timezone(&ZONE).date_naive()
}

/// A stored UTC time (RFC 3339) as a person in Poland reads it:
/// `29.11.2026 23:05`. Anything else is shown as it is.
pub fn local(stored: &str) -> String {
    DateTime::parse_from_rfc3339(stored)
        .map(|t| t.with_timezone(&ZONE).format("%d.%m.%Y %H:%M").to_string())
        .unwrap_or_else(|_| stored.to_string())
}

/// The Polish calendar day of a stored UTC time, `YYYY-MM-DD`; a date is
/// left as it is.
pub fn local_day(stored: &str) -> String {
    if stored.len() <= 10 {
        return stored.to_string();
    }
    DateTime::parse_from_rfc3339(stored)
        .map(|t| t.with_timezone(&ZONE).date_naive().to_string())
        .unwrap_or_else(|_| stored.chars().take(10).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_read_as_poland_reads_them_in_winter_and_summer() {
        // 23:30 UTC on New Year's Eve is already 1 January in Poland.
        assert_eq!(local("2025-12-31T23:30:00.000Z"), "01.01.2026 00:30");
        assert_eq!(local_day("2025-12-31T23:30:00.000Z"), "2026-01-01");
        // Summer time: two hours ahead.
        assert_eq!(local("2026-06-30T22:15:00Z"), "01.07.2026 00:15");
        assert_eq!(local("not a time"), "not a time");
    }
}
