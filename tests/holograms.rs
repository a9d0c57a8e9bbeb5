//! Yearly holograms recorded with the CLI while the station runs: deliveries,
//! a sticker on a card, a whole class, and every refusal the forms demand.
//! The events the commands record are published by the running station.

mod common;

use common::cli::{ok, pdf_text, refused};
use common::Harness;
use std::time::Duration;

const OPERATOR: &str = "Anna Kowalska";

fn apply<'a>(card: &'a str, year: &'a str, serial: &'a str) -> Vec<&'a str> {
    vec![
        "hologram",
        "apply",
        "--card",
        card,
        "--year",
        year,
        "--serial",
        serial,
        "--operator",
        OPERATOR,
    ]
}

fn receive<'a>(year: &'a str, first: &'a str, count: &'a str) -> Vec<&'a str> {
    vec![
        "holograms",
        "receive",
        "--year",
        year,
        "--first",
        first,
        "--count",
        count,
        "--operator",
        OPERATOR,
    ]
}

async fn print(h: &mut Harness, order: serde_json::Value) -> String {
    let id = order["order_id"].as_str().unwrap().to_string();
    h.central.send_order(&order).await;
    h.wait_for(&id, "card.printed").await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holograms_go_on_current_cards_once_a_year_and_every_refusal_is_clear() {
    let mut h = Harness::start().await;
    let config = h.dir.path().join("legitka.toml");
    common::write_config(&h.settings, &config);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(print(&mut h, legitka::card::sample::order(i)).await);
    }

    let out = ok(&config, &receive("2025/2026", "H0000008", "10"));
    assert!(out.contains("H0000008 to H0000017"), "{out}");
    refused(
        &config,
        &receive("2025/2026", "H0000017", "2"),
        "was already received",
    );

    // One sticker on one card: recorded, and published by the station.
    ok(&config, &apply("1/2026", "2025/2026", "H0000008"));
    let ev = h.wait_for(&ids[0], "hologram.applied").await;
    assert_eq!(ev["card_number"], "1/2026");
    assert_eq!(ev["school_year"], "2025/2026");
    assert_eq!(ev["hologram_serial"], "H0000008");
    assert_eq!(ev["valid_until"], "2026-09-30");
    assert_eq!(ev["slot"], 1);

    // The forms' rules, each refused with its reason and nothing recorded.
    refused(
        &config,
        &apply("1/2026", "2025/2026", "H0000009"),
        "already carries the hologram for 2025/2026",
    );
    refused(
        &config,
        &apply("2/2026", "2025/2026", "H0000008"),
        "already applied (card 1/2026)",
    );
    refused(
        &config,
        &apply("99/2026", "2025/2026", "H0000009"),
        "not in this station's register",
    );
    refused(
        &config,
        &apply("2/2026", "2025/2026", "H7777777"),
        "never received",
    );
    refused(
        &config,
        &apply("2/2026", "2025-2026", "H0000009"),
        "not a school year",
    );
    ok(&config, &receive("2026/2027", "G0000001", "1"));
    refused(
        &config,
        &apply("2/2026", "2025/2026", "G0000001"),
        "is for 2026/2027, not 2025/2026",
    );

    // A class at once, dry run first: card 1 already has the year.
    let class = |dry: bool| {
        let mut a = vec![
            "hologram",
            "apply",
            "--class",
            "1a",
            "--year",
            "2025/2026",
            "--first",
            "H0000009",
            "--operator",
            OPERATOR,
        ];
        if dry {
            a.push("--dry-run");
        }
        a
    };
    let plan = ok(&config, &class(true));
    assert!(
        plan.contains("2/2026") && plan.contains("-> H0000009"),
        "{plan}"
    );
    assert!(
        plan.contains("3/2026") && plan.contains("-> H0000010"),
        "{plan}"
    );
    assert!(
        !plan.contains("1/2026 "),
        "card 1 has the year already: {plan}"
    );
    let stock = ok(&config, &["holograms", "stock"]);
    assert!(
        stock.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["2025/2026", "10", "9", "1", "0"]),
        "a dry run records nothing: {stock}"
    );
    ok(&config, &class(false));
    assert_eq!(
        h.wait_for(&ids[1], "hologram.applied").await["hologram_serial"],
        "H0000009"
    );
    assert_eq!(
        h.wait_for(&ids[2], "hologram.applied").await["hologram_serial"],
        "H0000010"
    );
    refused(&config, &class(false), "class 1a has no current card");

    // Eight fields: seven more years fill card 1, the ninth is refused.
    for first in 2026..2033 {
        let year = format!("{first}/{}", first + 1);
        let serial = format!("Y{first}0001");
        ok(&config, &receive(&year, &serial, "1"));
        if first == 2026 {
            continue; // G0000001 was received for 2026/2027 above; use it.
        }
        ok(&config, &apply("1/2026", &year, &serial));
    }
    ok(&config, &apply("1/2026", "2026/2027", "G0000001"));
    ok(&config, &receive("2033/2034", "Z0000001", "1"));
    refused(
        &config,
        &apply("1/2026", "2033/2034", "Z0000001"),
        "all 8 hologram fields used",
    );

    // A spoiled sticker is recorded, never deleted, and cannot be used.
    ok(
        &config,
        &[
            "holograms",
            "spoil",
            "--serial",
            "H0000011",
            "--reason",
            "torn while peeling",
            "--operator",
            OPERATOR,
        ],
    );
    refused(
        &config,
        &apply("2/2026", "2026/2027", "H0000011"),
        "already spoiled",
    );

    // A replacement card supersedes the pupil's old one; a duplicate under
    // the same number is a new blank whose fields start empty.
    let mut replacement = legitka::card::sample::order(2);
    replacement["reason"] = "replacement".into();
    replacement["card"]["number"] = "50/2026".into();
    print(&mut h, replacement).await;
    refused(
        &config,
        &apply("3/2026", "2026/2027", "Y20260001"),
        "superseded by card 50/2026",
    );
    let mut duplicate = legitka::card::sample::order(1);
    duplicate["reason"] = "duplicate".into();
    // A returned card stays in the register and takes no more holograms.
    let ret = [
        "card",
        "return",
        "--card",
        "50/2026",
        "--reason",
        "left the school",
        "--operator",
        OPERATOR,
    ];
    ok(&config, &ret);
    refused(&config, &ret, "card 50/2026 was already returned");
    refused(
        &config,
        &apply("50/2026", "2026/2027", "Y20260001"),
        "card 50/2026 was returned on",
    );
    let dup_id = print(&mut h, duplicate).await;
    ok(&config, &apply("2/2026", "2026/2027", "Y20260001"));
    let ev = h.wait_for(&dup_id, "hologram.applied").await;
    assert_eq!(ev["slot"], 1, "the duplicate's own first field");

    let stock = ok(&config, &["holograms", "stock"]);
    assert!(
        stock.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["2025/2026", "10", "6", "3", "1"]),
        "{stock}"
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
    let report = h.dir.path().join("hologramy.pdf");
    ok(
        &config,
        &[
            "report",
            "holograms",
            "--year",
            "2025/2026",
            "--out",
            report.to_str().unwrap(),
        ],
    );
    let text = pdf_text(&report);
    assert!(
        text.contains("Hologramy na rok szkolny 2025/2026"),
        "{text}"
    );
    assert!(
        text.contains("Otrzymano 10 = naklejono 3 + zepsuto 1 + w magazynie 6."),
        "{text}"
    );
    assert!(text.contains("torn while peeling"), "{text}");
    h.stop().await;
}
