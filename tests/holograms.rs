//! Yearly holograms recorded with the CLI while the station runs: deliveries,
//! a sticker on a card, a whole class, and every refusal the forms demand.
//! The events the commands record are published by the running station.

mod common;

use common::cli::{ok_on, pdf_text, refused_on};
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

/// The school year the sample cards (issued 2026-09-01) are validated in,
/// and a day in it: the test runs on that day whatever the date.
const YEAR: &str = "2026/2027";
const DAY: &str = "2026-10-01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holograms_go_on_current_cards_once_a_year_and_every_refusal_is_clear() {
    let mut h = Harness::start().await;
    let config = h.dir.path().join("legitka.toml");
    common::write_config(&h.settings, &config);
    let ok = |args: &[&str]| ok_on(DAY, &config, args);
    let refused = |args: &[&str], why: &str| refused_on(DAY, &config, args, why);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(print(&mut h, legitka::card::sample::order(i)).await);
    }

    let out = ok(&receive(YEAR, "H0000008", "10"));
    assert!(out.contains("H0000008 – H0000017"), "{out}");
    refused(&receive(YEAR, "H0000017", "2"), "was already received");
    refused(&receive("2025/2026", "E0000001", "2"), "have expired");

    // One sticker on one card: recorded, and published by the station.
    ok(&apply("1/2026", YEAR, "H0000008"));
    let ev = h.wait_for(&ids[0], "hologram.applied").await;
    assert_eq!(ev["card_number"], "1/2026");
    assert_eq!(ev["school_year"], YEAR);
    assert_eq!(ev["hologram_serial"], "H0000008");
    assert_eq!(ev["valid_until"], "2027-09-30");
    assert_eq!(ev["slot"], 1);

    // The forms' rules, each refused with its reason and nothing recorded.
    refused(
        &apply("1/2026", YEAR, "H0000009"),
        "already carries the hologram for 2026/2027",
    );
    refused(
        &apply("2/2026", YEAR, "H0000008"),
        "already applied (card 1/2026)",
    );
    refused(
        &apply("99/2026", YEAR, "H0000009"),
        "not in this station's register",
    );
    refused(&apply("2/2026", YEAR, "H7777777"), "never received");
    refused(
        &apply("2/2026", "2026-2027", "H0000009"),
        "not a school year",
    );
    ok(&receive("2027/2028", "G0000001", "1"));
    refused(
        &apply("2/2026", YEAR, "G0000001"),
        "is for 2027/2028, not 2026/2027",
    );
    // Next year's stickers go on from June, not in October.
    refused(
        &apply("2/2026", "2027/2028", "G0000001"),
        "cannot be applied today: only for 2026/2027",
    );
    // A card issued for September, validated in August before: not for the
    // school year before its issue.
    ok_on(
        "2026-08-20",
        &config,
        &receive("2025/2026", "E0000001", "1"),
    );
    refused_on(
        "2026-08-20",
        &config,
        &apply("2/2026", "2025/2026", "E0000001"),
        "takes no hologram for the earlier 2025/2026",
    );

    // A class at once, as issued in its school year, dry run first: card 1
    // already has the year.
    let class = |dry: bool| {
        let mut a = vec![
            "hologram",
            "apply",
            "--class",
            "1a",
            "--issued-in",
            YEAR,
            "--year",
            YEAR,
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
    let plan = ok(&class(true));
    assert!(
        plan.contains("2/2026") && plan.contains("issued 2026-09-01 -> H0000009"),
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
    let stock = ok(&["holograms", "stock"]);
    assert!(
        stock
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["2026/2027", "10", "9", "1", "0", "0"]),
        "a dry run records nothing: {stock}"
    );
    // Last year's 1a is nobody: the class is asked as it was at issue.
    let mut last_year = class(true);
    last_year[5] = "2025/2026";
    refused(
        &last_year,
        "class 1a has no current card issued in 2025/2026",
    );
    ok(&class(false));
    assert_eq!(
        h.wait_for(&ids[1], "hologram.applied").await["hologram_serial"],
        "H0000009"
    );
    assert_eq!(
        h.wait_for(&ids[2], "hologram.applied").await["hologram_serial"],
        "H0000010"
    );
    refused(&class(false), "class 1a has no current card");

    // Eight fields, a school year at a time: seven more years fill card 1,
    // the ninth is refused.
    for first in 2027..2034 {
        let year = format!("{first}/{}", first + 1);
        let day = format!("{first}-10-01");
        let serial = format!("Y{first}0001");
        if first != 2027 {
            ok_on(&day, &config, &receive(&year, &serial, "1"));
            ok_on(&day, &config, &apply("1/2026", &year, &serial));
        } else {
            // G0000001 was received for 2027/2028 above; use it.
            ok_on(&day, &config, &apply("1/2026", &year, "G0000001"));
        }
    }
    ok_on(
        "2034-10-01",
        &config,
        &receive("2034/2035", "Z0000001", "1"),
    );
    refused_on(
        "2034-10-01",
        &config,
        &apply("1/2026", "2034/2035", "Z0000001"),
        "all 8 hologram fields used",
    );

    // A spoiled sticker is recorded, never deleted, cannot be used, and
    // reported. One still on the roll needs no card; one on a card is
    // named with its card.
    ok(&[
        "holograms",
        "spoil",
        "--serial",
        "H0000011",
        "--reason",
        "torn while peeling",
        "--operator",
        OPERATOR,
    ]);
    let spoil_on_card = |card: &'static str| {
        let mut a = vec![
            "holograms",
            "spoil",
            "--serial",
            "H0000009",
            "--reason",
            "smudged on the card",
            "--operator",
            OPERATOR,
        ];
        if !card.is_empty() {
            a.extend(["--card", card]);
        }
        a
    };
    refused(&spoil_on_card(""), "is on a card: name the card");
    refused(&spoil_on_card("3/2026"), "is on card 2/2026, not on 3/2026");
    ok(&spoil_on_card("2/2026"));
    let ev = h.wait_for(&ids[1], "hologram.spoiled").await;
    assert_eq!(ev["hologram_serial"], "H0000009");
    assert_eq!(ev["card_number"], "2/2026");
    assert_eq!(ev["slot"], 1);

    // A replacement card supersedes the pupil's old one; a duplicate under
    // the same number is a new blank whose fields start empty.
    let mut replacement = legitka::card::sample::order(2);
    replacement["reason"] = "replacement".into();
    replacement["card"]["number"] = "50/2026".into();
    let repl_id = print(&mut h, replacement).await;
    refused(
        &apply("3/2026", YEAR, "Y20280001"),
        "superseded by card 50/2026",
    );
    // A returned card stays in the register, takes no more holograms, and
    // the central system is told.
    let ret = |card: &'static str| {
        vec![
            "card",
            "return",
            "--card",
            card,
            "--reason",
            "left the school",
            "--operator",
            OPERATOR,
        ]
    };
    ok(&ret("50/2026"));
    let ev = h.wait_for(&repl_id, "card.returned").await;
    assert_eq!(ev["card_number"], "50/2026");
    assert_eq!(ev["reason"], "left the school");
    refused(&ret("50/2026"), "card 50/2026 was already returned");
    ok(&receive(YEAR, "H0000030", "3"));
    refused(
        &apply("50/2026", YEAR, "H0000030"),
        "card 50/2026 was returned on",
    );
    let mut duplicate = legitka::card::sample::order(1);
    duplicate["reason"] = "duplicate".into();
    let dup_id = print(&mut h, duplicate).await;
    // Card 2/2026 now names the original and its duplicate: an action on
    // it says which.
    refused(
        &apply("2/2026", YEAR, "H0000030"),
        "names 2 cards in the register",
    );
    refused(&ret("2/2026"), "names 2 cards in the register");
    let (_, _, err) = common::cli::legitka_on(DAY, &config, &ret("2/2026"));
    let row = err
        .split('#')
        .nth(2)
        .and_then(|t| t.split_whitespace().next())
        .expect("the refusal lists the rows")
        .to_string();
    let mut spoiled_on_dup = apply("2/2026", YEAR, "H0000011");
    spoiled_on_dup.extend(["--row", &row]);
    refused(&spoiled_on_dup, "already spoiled");
    let mut apply_dup = apply("2/2026", YEAR, "H0000030");
    apply_dup.extend(["--row", &row]);
    ok(&apply_dup);
    let ev = h.wait_for(&dup_id, "hologram.applied").await;
    assert_eq!(ev["slot"], 1, "the duplicate's own first field");

    let stock = ok(&["holograms", "stock"]);
    assert!(
        stock
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["2026/2027", "13", "8", "3", "2", "0"]),
        "{stock}"
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
    let report = h.dir.path().join("hologramy.pdf");
    ok(&[
        "report",
        "holograms",
        "--year",
        YEAR,
        "--out",
        report.to_str().unwrap(),
    ]);
    let text = pdf_text(&report);
    assert!(
        text.contains("Hologramy na rok szkolny 2026/2027"),
        "{text}"
    );
    assert!(
        text.contains("Otrzymano 13 = naklejono 3 + zepsuto 2 + w magazynie 8."),
        "{text}"
    );
    assert!(text.contains("torn while peeling"), "{text}");
    h.stop().await;
}
