//! The school's own lines (name, address, headteacher) against every card
//! layout, before the first order. They are the same on every card: one
//! that cannot fit would refuse every order of the school, so the station
//! says so at start (and `legitka templates check --config`) instead.

use crate::card::order::{CardData, Identity, Reason};
use crate::card::render::Renderer;
use crate::card::repertoire::{self, Repertoire};
use crate::settings::SchoolCard;
use chrono::{NaiveDate, TimeZone, Utc};
use std::fmt;

/// One of the school's lines that a layout cannot print.
#[derive(Debug, Clone, PartialEq)]
pub struct Misfit {
    /// The configuration key (`school_card.address`).
    pub key: String,
    pub pattern: String,
    pub file: String,
    pub message: String,
}

impl fmt::Display for Misfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} does not fit the {} layout ({}): {}",
            self.key, self.pattern, self.file, self.message
        )
    }
}

fn key_of(contract_field: &str) -> &str {
    match contract_field {
        "school.name" => "school_card.name",
        "school.address" => "school_card.address",
        "school.headteacher" => "school_card.headteacher",
        other => other,
    }
}

/// A card of the school with a short pupil, as an order would give it.
fn card(school: &SchoolCard, pattern: &str) -> Result<CardData, (String, String)> {
    let line = |key: &str, field: &str, value: &Option<String>, rep: Repertoire, stand_in: &str| {
        match value {
            Some(v) => {
                repertoire::normalise(field, v, rep).map_err(|r| (key.to_string(), r.message))
            }
            None => Ok(stand_in.to_string()),
        }
    };
    let date = NaiveDate::from_ymd_opt(2025, 9, 1).expect("a date");
    Ok(CardData {
        order_id: "school-check".into(),
        created_at: Utc.timestamp_opt(0, 0).single().expect("the epoch"),
        reason: Reason::New,
        pattern: pattern.into(),
        card_number: "1/2025".into(),
        issue_date: date,
        student_id: "school-check".into(),
        first_names: "Jan".into(),
        last_name: "Nowak".into(),
        birth_date: date,
        identity: Identity::Pesel("00000000000".into()),
        school_rspo: String::new(),
        school_name: line(
            "school_card.name",
            "school.name",
            &school.name,
            Repertoire::SchoolText,
            "Szkoła",
        )?,
        school_address: line(
            "school_card.address",
            "school.address",
            &school.address,
            Repertoire::SchoolText,
            "Łódź",
        )?,
        headteacher: line(
            "school_card.headteacher",
            "school.headteacher",
            &school.headteacher,
            Repertoire::PersonalName,
            "Jan Nowak",
        )?,
        class: None,
    })
}

/// Every layout the renderer knows that cannot print the school's lines,
/// with the line named. Empty: every card of the school fits.
pub fn check(renderer: &Renderer, school: &SchoolCard) -> Vec<Misfit> {
    let mut out = Vec::new();
    for t in renderer.patterns() {
        let misfit = |key: &str, message: String| Misfit {
            key: key.to_string(),
            pattern: t.pattern.clone(),
            file: t.file.clone(),
            message,
        };
        match card(school, &t.pattern) {
            Err((key, message)) => {
                // Unprintable characters are the same for every layout.
                out.push(misfit(&key, message));
                return out;
            }
            Ok(c) => {
                if let Err(r) = renderer.layout(&c) {
                    let key = key_of(r.field.as_deref().unwrap_or("?"));
                    out.push(misfit(key, r.message));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renderer() -> Renderer {
        crate::card::sample::renderer()
    }

    fn school(name: &str, address: &str) -> SchoolCard {
        SchoolCard {
            name: Some(name.into()),
            address: Some(address.into()),
            headteacher: Some("Małgorzata Szczęsna-Ćwiek".into()),
        }
    }

    #[test]
    fn a_real_long_school_fits_and_one_that_cannot_is_named_per_layout() {
        let r = renderer();
        let ok = school(
            "Zespół Szkół Ogólnokształcących i Technicznych nr 2 im. Księżnej Anny z Zamoyskich Sapieżyny w Świętochłowicach",
            "ul. Księcia Józefa Poniatowskiego 123/45, 41-600 Świętochłowice",
        );
        assert_eq!(check(&r, &ok), vec![]);
        let address = "ul. Księcia Józefa Poniatowskiego 123/45, 41-600 Świętochłowice ".repeat(3);
        let misfits = check(&r, &school("Szkoła Podstawowa nr 7", &address));
        assert_eq!(misfits.len(), 2, "{misfits:?}");
        for (m, pattern) in misfits.iter().zip(["MEiN-I/1", "MEiN-I/3-N"]) {
            assert_eq!(m.key, "school_card.address");
            assert_eq!(m.pattern, pattern);
            let text = m.to_string();
            assert!(
                text.starts_with("school_card.address does not fit the"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_character_the_card_cannot_print_is_named_once() {
        let misfits = check(&renderer(), &school("Szkoła ★ nr 7", "Łódź"));
        assert_eq!(misfits.len(), 1, "{misfits:?}");
        assert_eq!(misfits[0].key, "school_card.name");
    }
}
