//! Orders as the central system sends them, built from the fixture photos
//! and Polish names: for the demo, the tests and the benchmarks.

use base64::Engine;
use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const PHOTO_LARGE: &[u8] = include_bytes!("../../fixtures/photos/portrait-colour-570x780.jpg");
pub const PHOTO_EXACT: &[u8] = include_bytes!("../../fixtures/photos/portrait-colour-228x312.jpg");
pub const PHOTO_GREY: &[u8] =
    include_bytes!("../../fixtures/photos/portrait-grayscale-228x312.jpg");
pub const PHOTO_SMALL: &[u8] =
    include_bytes!("../../fixtures/photos/portrait-too-small-114x156.jpg");

pub const SCHOOL_RSPO: &str = "12345";

const STUDENTS: &[(&str, &str, bool)] = &[
    ("Zofia Maria", "Wiśniewska-Żółkiewska", true),
    ("Jan Łukasz", "Brzęczyszczykiewicz", false),
    ("Łucja", "Ćwiklińska", true),
    ("Ignacy", "Śliwiński", false),
    ("Źródłosława", "Żąć", true),
    ("Michał", "Gęślę-Jaźń", false),
    ("Ósma Ąnna", "Ńowak", true),
    ("Świętopełk", "Łężny", false),
];

/// A valid PESEL for a birth date (2000-2099 births fold +20 into the month).
/// The renderer a station with the built-in profiles and a Primacy 2 uses.
pub fn renderer() -> crate::card::render::Renderer {
    let p = crate::card::profile::Profiles::builtin();
    let printer = p
        .printer("evolis-primacy-2")
        .expect("the built-in printer profile")
        .clone();
    crate::card::render::Renderer::new(p, printer)
}

pub fn pesel_for(date: NaiveDate, serial: u32, female: bool) -> String {
    let century = match date.year() {
        1800..=1899 => 80,
        1900..=1999 => 0,
        2000..=2099 => 20,
        2100..=2199 => 40,
        _ => 60,
    };
    let serial = serial % 1000;
    let sex = (serial % 5) * 2 + u32::from(!female);
    let body = format!(
        "{:02}{:02}{:02}{:03}{}",
        date.year() % 100,
        date.month() + century,
        date.day(),
        serial,
        sex
    );
    let w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
    let sum: u32 = body
        .bytes()
        .zip(w)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

pub fn photo_json(jpeg: &[u8]) -> Value {
    json!({
        "media_type": "image/jpeg",
        "sha256": hex::encode(Sha256::digest(jpeg)),
        "data": base64::engine::general_purpose::STANDARD.encode(jpeg),
        "accepted_at": "2026-08-28T10:12:00Z",
    })
}

/// The `i`-th sample order with the large photo (114 KB of base64, the size
/// of a real school photo): what a September burst is made of.
pub fn order_large(i: usize) -> Value {
    let mut o = order(i);
    o["photo"] = photo_json(PHOTO_LARGE);
    o
}

/// The `i`-th sample order, with a fresh order id.
pub fn order(i: usize) -> Value {
    let (first, last, female) = STUDENTS[i % STUDENTS.len()];
    let birth = NaiveDate::from_ymd_opt(
        2012 + (i % 7) as i32,
        1 + (i % 12) as u32,
        1 + (i % 28) as u32,
    )
    .expect("valid date");
    let photo = if i.is_multiple_of(2) {
        PHOTO_LARGE
    } else {
        PHOTO_EXACT
    };
    json!({
        "type": "card.order",
        "order_id": uuid::Uuid::new_v4().to_string(),
        "created_at": "2026-09-01T07:30:00Z",
        "reason": "new",
        "pattern": "MEiN-I/1",
        "card": { "number": format!("{}/2026", i + 1), "issue_date": "2026-09-01" },
        "student": {
            "id": format!("S-{:06}", i + 1),
            "first_names": first,
            "last_name": last,
            "birth_date": birth.to_string(),
            "pesel": pesel_for(birth, i as u32, female),
            "identity_document": null,
            // Classes of 30, as a school has them.
            "class": format!("{}{}", 1 + (i / 60) % 8, ["a", "b"][(i / 30) % 2]),
        },
        "school": {
            "rspo": SCHOOL_RSPO,
            "name": "Szkoła Podstawowa nr 7 im. Marii Skłodowskiej-Curie",
            "address": "ul. Źródlana 4, 90-001 Łódź",
            "headteacher": "Grzegorz Brzęczyszczykiewicz",
        },
        "photo": photo_json(photo),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::pesel::Pesel;

    #[test]
    fn generated_pesels_validate() {
        for i in 0..50 {
            let d = NaiveDate::from_ymd_opt(2010 + i % 9, 1 + (i as u32 % 12), 1 + (i as u32 % 28))
                .unwrap();
            let p = pesel_for(d, i as u32 * 37, i % 2 == 0);
            assert!(Pesel::parse(&p, d).is_ok(), "{p} for {d}");
        }
    }
}
