//! The IPP path against the CUPS project's own printers: `ippeveprinter`
//! (the reference IPP Everywhere printer) and a private `cupsd` in front of
//! Gutenprint's Magicard driver. Orders in, cards out, faults, an aborted
//! job held, a queue that would print twice refused.

mod common;

use common::cups::Ippeve;
use legitka_drivers::ipp::raster;
use std::time::Duration;

/// A class of 30 prints on an IPP Everywhere printer: 30 jobs, 30 register
/// rows, and every page carries its text as pure black and nothing else
/// near black.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_prints_on_an_ipp_everywhere_printer() {
    // Its print command takes the page at once (without one it takes some
    // seconds of pretending to print each).
    let printer = Ippeve::start(Some("exit 0"));
    let uri = printer.uri.clone();
    let mut h = common::Harness::start_with(|s| {
        s.printer.uri = uri;
        s.printer.profile = "ipp-everywhere".into();
    })
    .await;
    let ids = h.send_orders(0, 30).await;
    for id in &ids {
        let printed = h.wait_for(id, "card.printed").await;
        assert_eq!(printed["printer_model"], "legitka Card Test", "{printed}");
    }
    let docs = printer.documents();
    assert_eq!(docs.len(), 30, "{docs:?}");
    for doc in &docs[..3] {
        let page = raster::decode(&std::fs::read(doc).unwrap()).expect("a PWG raster page");
        assert_eq!(page.dimensions(), (1016, 648));
        let mut black = 0;
        for p in page.pixels() {
            if p.0 == [0, 0, 0] {
                black += 1;
            } else {
                assert!(
                    p.0.iter()
                        .all(|v| *v >= legitka_drivers::ipp::page::ABOVE_BLACK),
                    "a near-black pixel that is not text: {:?}",
                    p.0
                );
            }
        }
        assert!(black > 2000, "the text is black: {black} pixels");
    }
    let h = h.stop().await;
    let store = legitka::records::store::Store::open(&h.db(), &h.settings.station)
        .await
        .unwrap();
    assert_eq!(store.register().await.unwrap().len(), 30);
}

/// A job the printer aborts (a jam) is a card a person must check: held,
/// never printed again on its own; the printer's fault is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_job_is_held_for_a_person_and_not_printed_again() {
    let printer = Ippeve::start(Some(
        r#"n=$(cat "$(dirname "$0")/jobs" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$(dirname "$0")/jobs"
if [ "$n" = 2 ]; then echo "STATE: +media-jam" >&2; sleep 1; echo "ERROR: card jammed" >&2; exit 1; fi
sleep 0.2; exit 0"#,
    ));
    let uri = printer.uri.clone();
    let mut h = common::Harness::start_with(|s| {
        s.printer.uri = uri;
        s.printer.profile = "ipp-everywhere".into();
    })
    .await;
    let ids = h.send_orders(0, 3).await;
    h.wait_for(&ids[0], "card.printed").await;
    let held = h.wait_for(&ids[1], "order.held").await;
    assert_eq!(held["code"], "needs_check", "{held}");
    h.wait_for(&ids[2], "card.printed").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        h.central.events_for(&ids[1], "card.printed").count(),
        0,
        "the jammed card printed on its own"
    );
    let jobs: u32 = std::fs::read_to_string(printer.dir.path().join("jobs"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(jobs, 3, "one job a card, the jammed one not sent again");
    h.stop().await;
}
