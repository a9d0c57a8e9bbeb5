//! PESEL, the Polish national identification number: 11 digits, the first
//! six a date of birth with the century folded into the month, the last a
//! check digit.

use chrono::NaiveDate;

const WEIGHTS: [u32; 10] = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];

/// A PESEL whose check digit and date have been verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pesel(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeselError {
    #[error("a PESEL is 11 digits")]
    Shape,
    #[error("the PESEL check digit is wrong")]
    CheckDigit,
    #[error("the PESEL does not encode a valid date")]
    Date,
    #[error("the PESEL encodes {0}, not the date of birth")]
    DateMismatch(NaiveDate),
}

impl Pesel {
    pub fn parse(s: &str, birth_date: NaiveDate) -> Result<Self, PeselError> {
        if s.len() != 11 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PeselError::Shape);
        }
        let d: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = d.iter().zip(WEIGHTS).map(|(a, w)| a * w).sum();
        if (10 - sum % 10) % 10 != d[10] {
            return Err(PeselError::CheckDigit);
        }
        let date = encoded_date(&d).ok_or(PeselError::Date)?;
        if date != birth_date {
            return Err(PeselError::DateMismatch(date));
        }
        Ok(Pesel(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs: never the whole number.
    pub fn masked(&self) -> String {
        format!("{}*******{}", &self.0[..2], &self.0[9..])
    }
}

fn encoded_date(d: &[u32]) -> Option<NaiveDate> {
    let yy = d[0] * 10 + d[1];
    let mm = d[2] * 10 + d[3];
    let dd = d[4] * 10 + d[5];
    let (century, month) = match mm {
        81..=92 => (1800, mm - 80),
        1..=12 => (1900, mm),
        21..=32 => (2000, mm - 20),
        41..=52 => (2100, mm - 40),
        61..=72 => (2200, mm - 60),
        _ => return None,
    };
    NaiveDate::from_ymd_opt((century + yy) as i32, month, dd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_contract_example_is_valid() {
        let p = Pesel::parse("17231412344", date("2017-03-14")).unwrap();
        assert_eq!(p.masked(), "17*******44");
    }

    #[test]
    fn each_kind_of_bad_pesel_is_told_apart() {
        let b = date("2017-03-14");
        assert_eq!(Pesel::parse("1723141234", b), Err(PeselError::Shape));
        assert_eq!(Pesel::parse("1723141234a", b), Err(PeselError::Shape));
        assert_eq!(Pesel::parse("17231412345", b), Err(PeselError::CheckDigit));
        assert_eq!(
            Pesel::parse("17231412344", date("2017-03-15")),
            Err(PeselError::DateMismatch(b))
        );
        // 20th century: month as is. 02070803628 is 1902-07-08.
        assert!(Pesel::parse("02070803628", date("1902-07-08")).is_ok());
    }
}
