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

    let report = h.dir.path().join("druki.pdf");
    ok(
        &config,
        &["report", "blanks", "--out", report.to_str().unwrap()],
    );
    let text = pdf_text(&report);
    assert!(
        text.contains("MEiN-I/1: otrzymano 6 = wydrukowano 3 + zepsuto 1 + zniszczono 1 + zwrócono 0 + w drukarce 0 + w magazynie 1."),
        "{text}"
    );
    assert!(text.contains("scratched in the box"), "{text}");

    let h = h.stop().await;
    let store = Store::open(&h.db(), &h.settings.station).await.unwrap();
    let register = store.register_csv().await.unwrap();
    for serial in ["000101", "000102", "000104"] {
        assert!(register.contains(serial), "{register}");
    }
}
