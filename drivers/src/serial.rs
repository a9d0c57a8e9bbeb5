//! Serial numbers of strictly accounted forms (blanks, hologram stickers) as
//! printed on them: letters and digits, the last run of digits counting up
//! with its width kept (`H0000009`, `H0000010`; `000101`, `000102`).

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
#[error("serial {first:?}: {why}")]
pub struct SerialError {
    pub first: String,
    pub why: String,
}

/// Checks one serial as an operator typed it.
pub fn check(serial: &str) -> Result<(), SerialError> {
    if serial.is_empty() || serial.len() > 32 || !serial.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(SerialError {
            first: serial.to_string(),
            why: "a serial is 1 to 32 ASCII letters and digits".into(),
        });
    }
    Ok(())
}

/// `count` serials from `first` on.
pub fn range(first: &str, count: u32) -> Result<Vec<String>, SerialError> {
    let bad = |why: &str| SerialError {
        first: first.to_string(),
        why: why.to_string(),
    };
    check(first)?;
    if count == 0 {
        return Err(bad("a delivery has at least one form"));
    }
    let digits = first.bytes().rev().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(bad("a serial must end in digits to count from"));
    }
    let (prefix, number) = first.split_at(first.len() - digits);
    let start: u64 = number.parse().map_err(|_| bad("too many digits"))?;
    let last = start + u64::from(count) - 1;
    if last.to_string().len() > digits {
        return Err(bad(&format!(
            "{count} forms from here would need more than {digits} digits"
        )));
    }
    Ok((start..=last)
        .map(|n| format!("{prefix}{n:0digits$}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_count_up_in_their_last_digits_keeping_the_width() {
        assert_eq!(
            range("H0000009", 3).unwrap(),
            ["H0000009", "H0000010", "H0000011"]
        );
        assert_eq!(range("000101", 2).unwrap(), ["000101", "000102"]);
        assert_eq!(range("AB12C007", 2).unwrap(), ["AB12C007", "AB12C008"]);
        assert!(range("H99", 2).is_err(), "would need a third digit");
        assert!(range("HOLO", 1).is_err(), "nothing to count");
        assert!(range("H 1", 1).is_err());
        assert!(range("H1", 0).is_err());
    }
}
