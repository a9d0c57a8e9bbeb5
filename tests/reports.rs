//! Issue 19: every report, written with the longest names and school lines
//! a card accepts, keeps every datum whole (wrapped in its cell, never cut),
//! passes `qpdf --check`, says its title, author and date, stays small, and
//! reads back in order with its Polish letters.

mod common;

use common::cli::ok;
use legitka::records::store::QueueMode;
use std::path::Path;
use std::process::Command;

const OPERATOR: &str = "Anna Maria Kowalska-Wiśniewska-Brzęczyszczykiewicz";

/// Whether the card takes the order as it is (the station's own check).
fn accepted(o: &serde_json::Value) -> bool {
    use legitka::card::message::{self, Inbound, TrustedKeys};
    let Ok(Inbound::Order(m)) = message::parse(o.to_string().as_bytes(), &TrustedKeys::default())
    else {
        return false;
    };
    let renderer = common::records::renderer();
    legitka::runtime::ingest::check(&m, &renderer, legitka::card::sample::SCHOOL_RSPO).is_ok()
}

/// The longest text the card still takes in a field (at most 120
/// characters), grown word by word from `start` with Polish words.
fn longest(o: &serde_json::Value, field: (&str, &str), start: &str, join: char) -> String {
    const WORDS: [&str; 10] = [
        "Żółkiewska",
        "Brzęczyszczykiewicz",
        "Źdźbłowska",
        "Chrząszczewska",
        "Ćwiklińska",
        "Gęślewska",
        "Łężna",
        "Świętopełk",
        "Jaźwińska",
        "Ńowakówna",
    ];
    let mut best = start.to_string();
    let mut o = o.clone();
    for w in WORDS.iter().cycle().take(40) {
        let next = format!("{best}{join}{w}");
        if next.chars().count() > 120 {
            break;
        }
        o[field.0][field.1] = next.clone().into();
        if !accepted(&o) {
            break;
        }
        best = next;
    }
    best
}

fn letters(i: usize) -> String {
    // Names carry letters only; the index as letters keeps each unique.
    let mut n = i + 1;
    let mut out = String::new();
    while n > 0 {
        out.push(['a', 'ą', 'ć', 'ę', 'ł', 'ń', 'ó', 'ś', 'ź', 'ż'][n % 10]);
        n /= 10;
    }
    out
}

/// What text a PDF holds in its content order (`pdftotext -raw`), with
/// every space and line break taken out: a wrapped datum reads whole.
fn text_of(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg("-raw")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn check_pdf(pdf: &Path, title: &str, school: &str, data: &[String]) -> usize {
    let school: String = school.chars().take(40).collect();
    let q = Command::new("qpdf")
        .arg("--check")
        .arg(pdf)
        .output()
        .expect("qpdf runs");
    assert!(
        q.status.success(),
        "qpdf --check {}: {}",
        pdf.display(),
        String::from_utf8_lossy(&q.stdout)
    );
    let info = Command::new("pdfinfo").arg(pdf).output().unwrap();
    let info = String::from_utf8(info.stdout).unwrap();
    let field = |k: &str| {
        info.lines()
            .find(|l| l.starts_with(k))
            .map(|l| l[k.len()..].trim().to_string())
            .unwrap_or_default()
    };
    assert!(field("Title:").starts_with(title), "{info}");
    assert!(field("Author:").contains(&school), "{info}");
    assert!(!field("CreationDate:").is_empty(), "{info}");
    let text = text_of(pdf);
    assert!(
        !text.contains('…'),
        "something was cut in {}",
        pdf.display()
    );
    for d in data {
        assert!(
            text.contains(&squeeze(d)),
            "{} lacks {d:?} whole",
            pdf.display()
        );
    }
    std::fs::metadata(pdf).unwrap().len() as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_report_keeps_the_longest_names_whole_and_stays_small() {
    let mut h = common::Harness::start_with(|s| s.queue.mode = QueueMode::Batch).await;
    let config = h.dir.path().join("legitka.toml");
    common::write_config(&h.settings, &config);
    let class = "4 LO Żółć";
    // The longest school name, surname and first names the card prints.
    let base = legitka::card::sample::order(0);
    let school = longest(
        &base,
        ("school", "name"),
        "Zespół Szkół nr 12 im. Marii Skłodowskiej-Curie w Łodzi",
        ' ',
    );
    let mut names = Vec::new();
    let mut orders = Vec::new();
    for i in 0..30 {
        let mut o = legitka::card::sample::order(i);
        o["student"]["class"] = class.into();
        o["school"]["name"] = school.clone().into();
        let last = longest(
            &o,
            ("student", "last_name"),
            &format!("Wiśniewska{}", letters(i)),
            '-',
        );
        o["student"]["last_name"] = last.clone().into();
        let first = longest(
            &o,
            ("student", "first_names"),
            &format!("Zofia {}", letters(i)),
            ' ',
        );
        o["student"]["first_names"] = first.clone().into();
        assert!(accepted(&o), "{o}");
        names.push((
            last,
            first,
            o["card"]["number"].as_str().unwrap().to_string(),
        ));
        orders.push(o);
    }
    let ids = common::send_accepted(&mut h.central, &orders).await;
    common::cli::receive_blanks(&config, "000101", 40, OPERATOR);
    let batch = common::cli::start_class_batch(&config, "000101", class, OPERATOR);
    for id in &ids {
        h.wait_for(id, "card.printed").await;
    }
    let year = legitka::records::hologram::SchoolYear::current().to_string();
    common::cli::receive_holograms(&config, &year, "H0000001", 40, OPERATOR);
    ok(
        &config,
        &[
            "hologram",
            "apply",
            "--class",
            class,
            "--issued-in",
            &year,
            "--first",
            "H0000001",
            "--year",
            &year,
            "--operator",
            OPERATOR,
        ],
    );
    let out = h.dir.path().join("reports");
    std::fs::create_dir(&out).unwrap();
    let o = |f: &str| out.join(f).to_str().unwrap().to_string();
    ok(&config, &["report", "register", "--out", &o("rejestr.pdf")]);
    ok(
        &config,
        &[
            "report",
            "handover",
            "--class",
            class,
            "--out",
            &o("odbior.pdf"),
        ],
    );
    ok(
        &config,
        &[
            "report",
            "batch",
            "--batch",
            &batch,
            "--out",
            &o("protokol.pdf"),
        ],
    );
    ok(
        &config,
        &[
            "report",
            "holograms",
            "--year",
            &year,
            "--out",
            &o("hologramy.pdf"),
        ],
    );
    ok(&config, &["report", "blanks", "--out", &o("druki.pdf")]);

    let whole_names: Vec<String> = names
        .iter()
        .flat_map(|(l, f, n)| [l.clone(), f.clone(), n.clone()])
        .collect();
    let numbers: Vec<String> = names.iter().map(|(_, _, n)| n.clone()).collect();
    eprintln!(
        "the longest the card takes: school {} chars, surnames {}-{} chars, first names {}-{}",
        school.chars().count(),
        names.iter().map(|n| n.0.chars().count()).min().unwrap(),
        names.iter().map(|n| n.0.chars().count()).max().unwrap(),
        names.iter().map(|n| n.1.chars().count()).min().unwrap(),
        names.iter().map(|n| n.1.chars().count()).max().unwrap(),
    );
    let with_school = |v: &[String]| -> Vec<String> {
        let mut v = v.to_vec();
        v.push(school.to_string());
        v
    };
    let register = check_pdf(
        &out.join("rejestr.pdf"),
        "Rejestr",
        &school,
        &with_school(&whole_names),
    );
    let handover = check_pdf(
        &out.join("odbior.pdf"),
        "Lista odbioru",
        &school,
        &with_school(&whole_names),
    );
    let mut protocol = with_school(&whole_names);
    protocol.push(OPERATOR.to_string());
    check_pdf(&out.join("protokol.pdf"), "Protokół", &school, &protocol);
    let mut holo = with_school(&numbers);
    holo.push(OPERATOR.to_string());
    check_pdf(&out.join("hologramy.pdf"), "Hologramy", &school, &holo);
    check_pdf(
        &out.join("druki.pdf"),
        "Rozliczenie",
        &school,
        &with_school(&["000101".to_string()]),
    );
    // Small enough to send: the fonts carry only the letters used.
    assert!(register < 100_000, "register of 30 rows: {register} bytes");
    assert!(
        handover < 100_000,
        "handover list of 30 rows: {handover} bytes"
    );
    eprintln!("register of 30: {register} bytes; handover list of 30: {handover} bytes");
    if let Some(dir) = std::env::var_os("LEGITKA_TEST_PICTURES") {
        for f in ["rejestr", "odbior", "protokol", "hologramy", "druki"] {
            let _ = Command::new("pdftoppm")
                .args(["-png", "-r", "70", "-f", "1", "-l", "1"])
                .arg(out.join(format!("{f}.pdf")))
                .arg(Path::new(&dir).join(f))
                .status();
        }
    }
    h.stop().await;
}
