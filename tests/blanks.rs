//! Numbered blanks accounted serial by serial while the station prints:
//! received, loaded in the feeder, printed on or spoiled in turn, destroyed.

mod common;

use common::Harness;
use legitka::store::Store;
use legitka_drivers::Cause;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const OPERATOR: &str = "Anna Kowalska";

fn legitka(config: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_legitka"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("LEGITKA_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(config: &Path, args: &[&str]) -> String {
    let (success, out, err) = legitka(config, args);
    assert!(success, "legitka {args:?} failed: {err}");
    out
}

fn refused(config: &Path, args: &[&str], why: &str) {
    let (success, out, err) = legitka(config, args);
    assert!(!success, "legitka {args:?} should be refused; said {out}");
    assert!(err.contains(why), "legitka {args:?}: {err:?} lacks {why:?}");
}

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
    assert!(ok(&config, &receive).contains("000101 to 000106"));
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
                == ["MEiN-I/1", "6", "1", "0", "3", "1", "1", "0"]),
        "{stock}"
    );
    assert!(
        stock.contains("warning: only 1 blanks MEiN-I/1 left"),
        "{stock}"
    );

    let h = h.stop().await;
    let store = Store::open(&h.db(), &h.settings.station).await.unwrap();
    let register = store.register_csv().await.unwrap();
    for serial in ["000101", "000102", "000104"] {
        assert!(register.contains(serial), "{register}");
    }
}
