//! Numbered blanks accounted serial by serial while the station prints:
//! received, loaded in the feeder, printed on or spoiled in turn, destroyed.

mod common;

use common::cli::{ok, pdf_text, refused};
use common::Harness;
use legitka::records::store::Store;
use legitka_drivers::Cause;
use std::time::Duration;

const OPERATOR: &str = "Anna Kowalska";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_card_and_each_spoiled_blank_records_the_serial_it_used() {
    let mut h = Harness::start().await;
    let config = h.dir.path().join("legitka.toml");
    common::write_config(&h.settings, &config);
    let receive = [
        "blanks",
        "receive",
        "--pattern",
        "MEiN-I/1",
        "--first",
        "000101",
        "--count",
        "6",
        "--operator",
        OPERATOR,
    ];
    assert!(ok(&config, &receive).contains("000101 – 000106"));
    refused(
        &config,
        &receive,
        "blank MEiN-I/1 000101 was already received",
    );
    // The pattern is found from the serial.
    ok(
        &config,
        &[
            "blanks",
            "load",
            "--first",
            "000101",
            "--count",
            "4",
            "--operator",
            OPERATOR,
        ],
    );
    let state = h
        .central
        .wait_state(Duration::from_secs(10), |s| s["blanks"]["loaded"] == 4)
        .await
        .expect("the state counts the blanks in the printer");
    assert_eq!(state["blanks"]["in_stock"], 2);

    // The third card jams: its blank is spoiled, and the card prints again
    // on the next blank.
    h.sim
        .with(|p| p.faults.fail_card = Some((3, Cause::CardJam)));
    let ids = h.send_orders(0, 3).await;
    let spoiled = h.wait_for(&ids[2], "card.spoiled").await;
    assert_eq!(spoiled["blank_serial"], "000103");
    h.sim.with(|p| p.faults.active = None);
    let serials: Vec<_> = {
        let mut v = Vec::new();
        for id in &ids {
            v.push(h.wait_for(id, "card.printed").await["blank_serial"].clone());
        }
        v
    };
    assert_eq!(serials, ["000101", "000102", "000104"]);

    refused(
        &config,
        &[
            "blanks",
            "load",
            "--pattern",
            "MEiN-I/1",
            "--first",
            "000102",
            "--count",
            "1",
            "--operator",
            OPERATOR,
        ],
        "blank MEiN-I/1 000102 is already printed",
    );
    refused(
        &config,
        &[
            "blanks",
            "load",
            "--pattern",
            "MEiN-I/1",
            "--first",
            "000199",
            "--count",
            "1",
            "--operator",
            OPERATOR,
        ],
        "was never received",
    );
    ok(
        &config,
        &[
            "blanks",
            "destroy",
            "--pattern",
            "MEiN-I/1",
            "--serial",
            "000106",
            "--reason",
            "scratched in the box",
            "--operator",
            OPERATOR,
        ],
    );
    refused(
        &config,
        &[
            "blanks",
            "return",
            "--pattern",
            "MEiN-I/1",
            "--serial",
            "000101",
            "--reason",
            "x",
            "--operator",
            OPERATOR,
        ],
        "already printed",
    );
    // Received 6 = printed 3 + spoiled 1 + destroyed 1 + in stock 1.
    let stock = ok(&config, &["blanks"]);
    assert!(
        stock
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["MEiN-I/1", "6", "1", "0", "3", "1", "1", "0", "0"]),
        "{stock}"
    );
    assert!(
        stock.contains("warning: only 1 blanks MEiN-I/1 left"),
        "{stock}"
    );

    // A typo in the pattern accounts no blanks; a count too large for a
    // delivery is confirmed first.
    let receive = |pattern: &'static str, first: &'static str, count: &'static str| {
        vec![
            "blanks",
            "receive",
            "--pattern",
            pattern,
            "--first",
            first,
            "--count",
            count,
            "--operator",
            OPERATOR,
        ]
    };
    refused(
        &config,
        &receive("MEIN-I/1", "000201", "5"),
        "no card layout for pattern \"MEIN-I/1\": this station prints MEiN-I/1, MEiN-I/3-N",
    );
    refused(
        &config,
        &receive("MEiN-I/1", "001001", "5000"),
        "check the count on the delivery note, then confirm it (--confirm-large)",
    );
    // Received 5000, it was 500: the rest is voided, kept and not counted.
    let mut large = receive("MEiN-I/1", "001001", "5000");
    large.push("--confirm-large");
    ok(&config, &large);
    let voided = ok(
        &config,
        &[
            "blanks",
            "void",
            "--pattern",
            "MEiN-I/1",
            "--first",
            "001501",
            "--count",
            "4500",
            "--reason",
            "the delivery note says 500",
            "--operator",
            OPERATOR,
        ],
    );
    assert!(
        voided.contains("voided 4500 blanks MEiN-I/1: 001501 – 006000"),
        "{voided}"
    );
    // A stack put in and taken out again: back in stock.
    ok(
        &config,
        &[
            "blanks",
            "load",
            "--first",
            "001001",
            "--count",
            "3",
            "--operator",
            OPERATOR,
        ],
    );
    let unloaded = ok(
        &config,
        &[
            "blanks",
            "unload",
            "--pattern",
            "MEiN-I/1",
            "--operator",
            OPERATOR,
        ],
    );
    assert!(
        unloaded.contains("unloaded 3 blanks MEiN-I/1: 001001 – 001003 (back in stock)"),
        "{unloaded}"
    );
    let stock = ok(&config, &["blanks"]);
    assert!(
        stock
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["MEiN-I/1", "506", "501", "0", "3", "1", "1", "0", "4500"]),
        "{stock}"
    );

    let report = h.dir.path().join("druki.pdf");
    ok(
        &config,
        &["report", "blanks", "--out", report.to_str().unwrap()],
    );
    let text = pdf_text(&report);
    assert!(
        text.contains("MEiN-I/1: otrzymano 506 = wydrukowano 3 + zepsuto 1 + zniszczono 1 + zwrócono 0 + w drukarce 0 + w magazynie 501."),
        "{text}"
    );
    assert!(text.contains("scratched in the box"), "{text}");
    assert!(
        text.contains("4500 numerów zapisanych błędnie anulowano"),
        "{text}"
    );
    // Every printed card and spoiled blank names its pattern too.
    let ev = h
        .central
        .events_for(&ids[2], "card.spoiled")
        .next()
        .unwrap()
        .clone();
    assert_eq!(ev["blank_pattern"], "MEiN-I/1");

    let h = h.stop().await;
    let store = Store::open(&h.db(), &h.settings.station).await.unwrap();
    let register = store.register_csv().await.unwrap();
    for serial in ["000101", "000102", "000104"] {
        assert!(register.contains(serial), "{register}");
    }
}
