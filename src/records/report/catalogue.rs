//! The reports a school keeps, as tables: the register, a batch's print
//! protocol, a class's handover list, a year's holograms, blank
//! accounting. The CLI writes them to files, the web page serves them.

use super::Table;
use crate::records::hologram::SchoolYear;
use crate::records::store::{RegisterEntry, RegisterFilter, Store, StoreError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Nothing to report (no holograms for the year, an empty class).
    #[error("{0}")]
    Empty(String),
}

/// Which report.
#[derive(Debug, Clone)]
pub enum Report {
    /// The register of issued cards, of one calendar year or all.
    Register { year: Option<i32> },
    /// A batch's print protocol, with signature lines.
    Batch { batch: String },
    /// A class's list for handing the cards over, with a signature column.
    Handover { class: String },
    /// A school year's holograms.
    Holograms { year: SchoolYear },
    /// Blank accounting per pattern.
    Blanks,
}

impl Report {
    /// A file name for the download, without extension.
    pub fn file_stem(&self) -> String {
        match self {
            Report::Register { year: Some(y) } => format!("rejestr-{y}"),
            Report::Register { year: None } => "rejestr".into(),
            Report::Batch { batch } => format!("protokol-{batch}"),
            Report::Handover { class } => format!("odbior-klasa-{}", file_safe(class)),
            Report::Holograms { year } => {
                format!("hologramy-{}", year.to_string().replace('/', "-"))
            }
            Report::Blanks => "druki".into(),
        }
    }
}

/// A class as part of a file name: ASCII letters and digits, `-`, and `_`
/// for anything else (a quote, a slash or a space would break a download's
/// header or a path).
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn status_pl(s: &str) -> &str {
    match s {
        "stock" => "w magazynie",
        "loaded" => "w drukarce",
        "printed" => "wydrukowany",
        "applied" => "naklejony",
        "spoiled" => "zepsuty",
        "destroyed" => "zniszczony",
        "returned" => "zwrócony",
        "voided" => "anulowany (zapisany błędnie)",
        other => other,
    }
}

/// Consecutive serials that share everything else (stock, a stack spoiled
/// for one reason) as one row, `first – last` and how many, then the rest;
/// a serial on a card differs by its card.
fn ranges(rows: Vec<(String, Vec<String>)>) -> Vec<Vec<String>> {
    let mut runs: Vec<(String, String, usize, Vec<String>)> = Vec::new();
    for (serial, rest) in rows {
        let follows = runs.last().is_some_and(|(_, last, _, r)| {
            *r == rest && crate::records::serial::range(last, 2).is_ok_and(|n| n[1] == serial)
        });
        match runs.last_mut() {
            Some((_, last, n, _)) if follows => {
                *last = serial;
                *n += 1;
            }
            _ => runs.push((serial.clone(), serial, 1, rest)),
        }
    }
    runs.into_iter()
        .map(|(first, last, n, rest)| {
            let serials = if n == 1 {
                first
            } else {
                format!("{first} – {last}")
            };
            [vec![serials, n.to_string()], rest].concat()
        })
        .collect()
}

/// Serials as runs of consecutive ones: `000101 – 000103, 000105`.
pub fn runs(serials: &[String]) -> String {
    ranges(serials.iter().map(|s| (s.clone(), Vec::new())).collect())
        .into_iter()
        .map(|r| r[0].clone())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn reason_pl(r: &str) -> &str {
    match r {
        "new" => "nowa",
        "duplicate" => "duplikat",
        "replacement" => "zmiana danych",
        other => other,
    }
}

pub fn today() -> String {
    crate::records::clock::today()
        .format("%d.%m.%Y")
        .to_string()
}

/// `2026-09-01` as a Polish form writes it: `01.09.2026` (a stored time
/// is first read as Poland's day).
pub fn date_pl(iso: &str) -> String {
    let iso = &crate::records::clock::local_day(iso);
    chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .map(|d| d.format("%d.%m.%Y").to_string())
        .unwrap_or_else(|_| iso.to_string())
}

fn school_line(rspo: &str, name: Option<String>) -> String {
    match name {
        Some(n) => format!("{n} (RSPO {rspo})"),
        None => format!("Szkoła RSPO {rspo}"),
    }
}

fn name(e: &RegisterEntry) -> String {
    format!("{} {}", e.last_name, e.first_names)
}

/// Builds one report's table from the store; `rspo` names the school when
/// no card has recorded its name yet.
pub async fn build(store: &Store, rspo: &str, which: &Report) -> Result<Table, ReportError> {
    let school = school_line(rspo, store.school_name().await?);
    match which.clone() {
        Report::Register { year } => {
            let today = crate::records::clock::today();
            let entries = store
                .register_entries(&RegisterFilter {
                    year,
                    ..RegisterFilter::default()
                })
                .await?;
            let t = Table {
                title: "Rejestr wydanych legitymacji szkolnych".into(),
                subtitle: vec![
                    school,
                    match year {
                        Some(y) => format!("Legitymacje wydane w roku {y}"),
                        None => "Wszystkie wydane legitymacje".into(),
                    },
                ],
                columns: [
                    // Widths so that a date stays on one line and the
                    // names, which wrap, get the room.
                    ("Nr legitymacji", 22.0),
                    ("Nazwisko i imiona", 60.0),
                    ("Klasa", 13.0),
                    ("Data ur.", 19.0),
                    ("Wydana", 19.0),
                    ("Rodzaj", 17.0),
                    ("Nr druku", 17.0),
                    ("Hologramy", 42.0),
                    ("Stan", 24.0),
                    ("Wydał(a)", 36.0),
                    ("Wzór druku", 0.0),
                    ("Id ucznia", 0.0),
                    ("Drukarka", 0.0),
                    ("Partia", 0.0),
                ]
                .iter()
                .map(|(h, w)| (h.to_string(), *w))
                .collect(),
                rows: entries
                    .iter()
                    .map(|e| {
                        vec![
                            e.card_number.clone(),
                            name(e),
                            e.class.clone().unwrap_or_default(),
                            e.birth_date.as_deref().map(date_pl).unwrap_or_default(),
                            date_pl(&e.issued),
                            reason_pl(&e.reason).to_string(),
                            e.blank_serial.clone().unwrap_or_default(),
                            e.holograms.join(", "),
                            e.standing(today).to_string(),
                            e.operator.clone().unwrap_or_default(),
                            e.blank_pattern.clone().unwrap_or_default(),
                            e.student_id.clone(),
                            e.printer.clone(),
                            e.batch_id.clone().unwrap_or_default(),
                        ]
                    })
                    .collect(),
                after: vec![format!("Razem: {} legitymacji.", entries.len())],
                signatures: vec![],
            };
            Ok(t)
        }
        Report::Batch { batch } => {
            let b = store.batch(&batch).await?;
            let mut printers: Vec<String> = store
                .register_entries(&RegisterFilter {
                    batch: Some(b.id.clone()),
                    ..RegisterFilter::default()
                })
                .await?
                .into_iter()
                .map(|e| e.printer)
                .collect();
            printers.sort();
            printers.dedup();
            // The blanks the batch used, cards and spoiled alike: what
            // left the feeder, not what was typed when it started.
            let used = runs(&b.blanks_used());
            let mut rows: Vec<Vec<String>> = b
                .printed_cards
                .iter()
                .enumerate()
                .map(|(i, (card, who, serial))| {
                    vec![
                        (i + 1).to_string(),
                        card.clone(),
                        who.clone(),
                        serial.clone().unwrap_or_default(),
                        "wydrukowana".into(),
                    ]
                })
                .collect();
            rows.extend(b.spoiled.iter().map(|(card, serial, cause)| {
                vec![
                    String::new(),
                    card.clone(),
                    String::new(),
                    serial.clone().unwrap_or_default(),
                    format!("druk zepsuty: {cause}"),
                ]
            }));
            let t = Table {
                title: format!("Protokół wydruku partii {}", b.id),
                subtitle: vec![
                    school,
                    format!(
                        "Operator: {} · klasa: {} · druki {} nr {} · rozpoczęto {}",
                        b.operator,
                        b.class.as_deref().unwrap_or("—"),
                        b.pattern,
                        if used.is_empty() {
                            "—".to_string()
                        } else {
                            used
                        },
                        date_pl(&crate::records::clock::local_day(&b.created_at))
                    ),
                    format!(
                        "Drukarka: {}",
                        if printers.is_empty() {
                            "—".to_string()
                        } else {
                            printers.join(", ")
                        }
                    ),
                ],
                columns: [
                    ("Lp.", 12.0),
                    ("Nr legitymacji", 35.0),
                    ("Nazwisko i imiona", 110.0),
                    ("Nr druku", 35.0),
                    ("Wynik", 77.0),
                ]
                .iter()
                .map(|(h, w)| (h.to_string(), *w))
                .collect(),
                rows,
                after: vec![format!(
                    "Wydrukowano {} z {} legitymacji; druki zepsute: {}; pozostało do wydruku: {}.",
                    b.printed_cards.len(),
                    b.cards,
                    b.spoiled.len(),
                    b.waiting
                )],
                signatures: vec![
                    format!("Operator ({})", b.operator),
                    "Dyrektor szkoły".into(),
                ],
            };
            Ok(t)
        }
        Report::Holograms { year } => {
            let rows = store.holograms_of(year).await?;
            if rows.is_empty() {
                return Err(ReportError::Empty(format!(
                    "no holograms were received for {year}"
                )));
            }
            let count = |st: &str| rows.iter().filter(|r| r.status == st).count();
            let grouped = ranges(
                rows.iter()
                    .map(|r| {
                        (
                            r.serial.clone(),
                            vec![
                                status_pl(&r.status).to_string(),
                                r.card_number.clone().unwrap_or_default(),
                                r.slot.map(|s| s.to_string()).unwrap_or_default(),
                                r.applied_at
                                    .as_deref()
                                    .map(|d| date_pl(&crate::records::clock::local_day(d)))
                                    .unwrap_or_default(),
                                r.applied_by
                                    .clone()
                                    .or(r.spoiled_by.clone())
                                    .unwrap_or_default(),
                                r.spoiled_reason.clone().unwrap_or_default(),
                            ],
                        )
                    })
                    .collect(),
            );
            let t = Table {
                title: format!("Hologramy na rok szkolny {year}"),
                subtitle: vec![
                    school,
                    format!("Ważne do {}", year.valid_until().format("%d.%m.%Y")),
                ],
                columns: [
                    ("Numery", 48.0),
                    ("Liczba", 16.0),
                    ("Stan", 26.0),
                    ("Nr legitymacji", 30.0),
                    ("Pole", 12.0),
                    ("Data", 22.0),
                    ("Osoba", 50.0),
                    ("Uwagi", 65.0),
                ]
                .iter()
                .map(|(h, w)| (h.to_string(), *w))
                .collect(),
                rows: grouped,
                after: vec![format!(
                    "Otrzymano {} = naklejono {} + zepsuto {} + w magazynie {}.",
                    rows.len(),
                    count("applied"),
                    count("spoiled"),
                    count("stock")
                )],
                signatures: vec!["Sporządził(a)".into(), "Dyrektor szkoły".into()],
            };
            Ok(t)
        }
        Report::Blanks => {
            let rows = store.blank_rows().await?;
            if rows.is_empty() {
                return Err(ReportError::Empty("no blanks were received".into()));
            }
            let grouped = ranges(
                rows.iter()
                    .map(|r| {
                        (
                            r.serial.clone(),
                            vec![
                                r.pattern.clone(),
                                status_pl(&r.status).to_string(),
                                r.card_number.clone().unwrap_or_default(),
                                r.cause.clone().unwrap_or_default(),
                                r.used_by.clone().unwrap_or_default(),
                            ],
                        )
                    })
                    .collect(),
            );
            let mut after = Vec::new();
            for b in store.blank_stock().await? {
                after.push(format!(
                    "{}: otrzymano {} = wydrukowano {} + zepsuto {} + zniszczono {} + zwrócono {} + w drukarce {} + w magazynie {}.",
                    b.pattern, b.received, b.printed, b.spoiled, b.destroyed, b.returned, b.loaded, b.in_stock
                ));
                if b.voided > 0 {
                    after.push(format!(
                        "{}: {} numerów zapisanych błędnie anulowano (nie są liczone jako otrzymane).",
                        b.pattern, b.voided
                    ));
                }
                if b.cards_without_serial + b.spoiled_without_serial > 0 {
                    after.push(format!(
                        "{}: bez numeru druku zapisano {} legitymacji i {} zepsutych druków — do rozliczenia ręcznie.",
                        b.pattern, b.cards_without_serial, b.spoiled_without_serial
                    ));
                }
            }
            let t = Table {
                title: "Rozliczenie druków legitymacji szkolnych".into(),
                subtitle: vec![school],
                columns: [
                    ("Numery", 45.0),
                    ("Liczba", 16.0),
                    ("Wzór", 25.0),
                    ("Stan", 28.0),
                    ("Nr legitymacji", 30.0),
                    ("Przyczyna", 75.0),
                    ("Osoba", 50.0),
                ]
                .iter()
                .map(|(h, w)| (h.to_string(), *w))
                .collect(),
                rows: grouped,
                after,
                signatures: vec!["Sporządził(a)".into(), "Dyrektor szkoły".into()],
            };
            Ok(t)
        }
        Report::Handover { class } => {
            let entries: Vec<RegisterEntry> = store
                .register_entries(&RegisterFilter {
                    class: Some(class.clone()),
                    ..RegisterFilter::default()
                })
                .await?
                .into_iter()
                .filter(|e| !e.superseded && e.returned.is_none())
                .collect();
            if entries.is_empty() {
                return Err(ReportError::Empty(format!(
                    "class {class} has no current card in the register"
                )));
            }
            let mut sorted = entries.clone();
            sorted.sort_by_key(|e| polish_key(&name(e)));
            let t = Table {
                title: format!("Lista odbioru legitymacji szkolnych — klasa {class}"),
                subtitle: vec![school],
                columns: [
                    ("Lp.", 12.0),
                    ("Nazwisko i imiona", 95.0),
                    ("Nr legitymacji", 35.0),
                    ("Data wydania", 30.0),
                    ("Data odbioru", 30.0),
                    ("Podpis", 67.0),
                ]
                .iter()
                .map(|(h, w)| (h.to_string(), *w))
                .collect(),
                rows: sorted
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        vec![
                            (i + 1).to_string(),
                            name(e),
                            e.card_number.clone(),
                            date_pl(&e.issued),
                            String::new(),
                            String::new(),
                        ]
                    })
                    .collect(),
                after: vec![format!("Razem: {} legitymacji.", sorted.len())],
                signatures: vec!["Wychowawca klasy".into(), "Sekretariat".into()],
            };
            Ok(t)
        }
    }
}

/// Polish alphabetical order: Ą after A, Ł after L, Ż last. Each letter
/// maps to its place in the Polish alphabet; case is ignored.
pub fn polish_key(s: &str) -> Vec<u32> {
    const ALPHABET: &str = "aąbcćdeęfghijklłmnńoóprsśtuvwxyzźż";
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match ALPHABET.chars().position(|a| a == c) {
            Some(p) => p as u32 + 1,
            None if c == ' ' || c == '-' => 0,
            None => 100 + c as u32,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{polish_key, ranges};

    #[test]
    fn consecutive_serials_alike_are_one_row_and_a_gap_or_a_card_breaks_it() {
        let stock = || vec!["w magazynie".to_string(), String::new()];
        let on = |c: &str| vec!["naklejony".to_string(), c.to_string()];
        let rows = ranges(vec![
            ("H08".into(), on("1/2026")),
            ("H09".into(), on("2/2026")),
            ("H10".into(), stock()),
            ("H11".into(), stock()),
            ("H12".into(), stock()),
            ("H14".into(), stock()),
        ]);
        let first: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r[0].as_str(), r[1].as_str()))
            .collect();
        assert_eq!(
            first,
            [("H08", "1"), ("H09", "1"), ("H10 – H12", "3"), ("H14", "1")]
        );
    }

    #[test]
    fn serials_read_as_runs() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            super::runs(&s(&["000101", "000102", "000103", "000105"])),
            "000101 – 000103, 000105"
        );
        assert_eq!(super::runs(&[]), "");
    }

    #[test]
    fn polish_order_puts_l_stroke_after_l_and_z_dot_last() {
        let mut names = vec!["Żak", "Łukasik", "Lis", "Zając", "Ćwik", "Cichy", "Źrebiec"];
        names.sort_by_key(|n| polish_key(n));
        assert_eq!(
            names,
            ["Cichy", "Ćwik", "Lis", "Łukasik", "Zając", "Źrebiec", "Żak"]
        );
    }
}
