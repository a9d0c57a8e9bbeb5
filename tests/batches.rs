//! Batch mode: accepted orders wait for the operator, who starts batches on
//! numbered blanks, pauses, resumes and cancels them while the station runs.

mod common;

use common::cli::{legitka, ok, pdf_text};
use common::Harness;
use legitka::records::store::{QueueMode, Store};
use legitka_sim::SimConfig;
use std::path::Path;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_wait_for_a_batch_and_each_card_names_its_batch_operator_and_blank() {
    let sim = SimConfig {
        card_time: Duration::from_millis(800),
        ..SimConfig::default()
    };
    let mut h = Harness::start_full(sim, |s| s.queue.mode = QueueMode::Batch).await;
    let config = h.dir.path().join("legitka.toml");
    common::write_config(&h.settings, &config);
    let ids = h.send_orders(0, 5).await;
    for id in &ids {
        h.wait_for(id, "order.accepted").await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.sim.printed_count(), 0, "nothing prints without a batch");

    ok(
        &config,
        &[
            "blanks",
            "receive",
            "--pattern",
            "MEiN-I/1",
            "--first",
            "000101",
            "--count",
            "10",
            "--operator",
            "Anna Kowalska",
        ],
    );
    let first = ok(
        &config,
        &[
            "batch",
            "start",
            "--first-blank",
            "000101",
            "--operator",
            "Anna Kowalska",
            "--class",
            "1a",
            "--limit",
            "3",
        ],
    );
    let first = first.trim().to_string();
    // While the first batch prints: a second one, paused at once, and a
    // third, cancelled at once.
    let second = ok(
        &config,
        &[
            "batch",
            "start",
            "--first-blank",
            "000104",
            "--operator",
            "Bogdan Nowak",
            "--order",
            &ids[3],
        ],
    );
    let second = second.trim().to_string();
    ok(
        &config,
        &["batch", "pause", &second, "--operator", "Bogdan Nowak"],
    );
    let third = ok(
        &config,
        &[
            "batch",
            "start",
            "--first-blank",
            "000105",
            "--operator",
            "Bogdan Nowak",
            "--order",
            &ids[4],
        ],
    );
    // Cancelled: its own stack (000105, behind the others) comes out.
    let cancelled = ok(
        &config,
        &[
            "batch",
            "cancel",
            third.trim(),
            "--operator",
            "Bogdan Nowak",
        ],
    );
    assert!(
        cancelled.contains("take blanks 000105 out of the feeder"),
        "{cancelled}"
    );
    // A stack that neither starts the feeder's nor follows it is not
    // what the records say is there.
    let (success, _, err) = legitka(
        &config,
        &[
            "batch",
            "start",
            "--first-blank",
            "000108",
            "--operator",
            "X Y",
            "--order",
            &ids[4],
        ],
    );
    assert!(
        !success && err.contains("are recorded in the printer's feeder"),
        "{err}"
    );

    for (i, id) in ids[..3].iter().enumerate() {
        let ev = h.wait_for(id, "card.printed").await;
        assert_eq!(ev["batch_id"], first.as_str());
        assert_eq!(ev["operator"], "Anna Kowalska");
        assert_eq!(ev["blank_serial"], format!("00010{}", i + 1));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        h.central
            .events_for(&ids[3], "card.printed")
            .next()
            .is_none(),
        "paused"
    );
    let list = ok(&config, &["batch", "list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with(&second) && l.contains("paused")),
        "{list}"
    );

    ok(
        &config,
        &["batch", "resume", &second, "--operator", "Bogdan Nowak"],
    );
    let ev = h.wait_for(&ids[3], "card.printed").await;
    assert_eq!(ev["batch_id"], second.as_str());
    assert_eq!(ev["operator"], "Bogdan Nowak");
    assert_eq!(ev["blank_serial"], "000104");

    let show = ok(&config, &["batch", "show", &first]);
    assert!(show.contains("3 of 3 printed, 0 spoiled, 0 left"), "{show}");
    assert!(show.contains("blank 000103"), "{show}");

    // The paper trail: the batch's protocol, the class's handover list, the
    // register, read back as a reader would (text, page size).
    let dir = h.dir.path().to_path_buf();
    let protocol = dir.join("protokol.pdf");
    ok(
        &config,
        &[
            "report",
            "batch",
            "--batch",
            &first,
            "--out",
            protocol.to_str().unwrap(),
        ],
    );
    let text = pdf_text(&protocol);
    assert!(
        text.contains(&format!("Protokół wydruku partii {first}")),
        "{text}"
    );
    assert!(text.contains("Wiśniewska-Żółkiewska Zofia Maria"), "{text}");
    assert!(text.contains("Wydrukowano 3 z 3 legitymacji"), "{text}");
    assert!(text.contains("SIM-000001"), "the printer is named: {text}");
    assert!(
        text.contains("nr 000101 – 000103"),
        "the blanks used: {text}"
    );
    let handover = dir.join("odbior.pdf");
    ok(
        &config,
        &[
            "report",
            "handover",
            "--class",
            "1a",
            "--out",
            handover.to_str().unwrap(),
        ],
    );
    let text = pdf_text(&handover);
    // Polish order: Brzęczyszczykiewicz, Ćwiklińska, Śliwiński, Wiśniewska.
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} not in {text}"));
    assert!(at("Brzęczyszczykiewicz") < at("Ćwiklińska"));
    assert!(at("Ćwiklińska") < at("Śliwiński"));
    assert!(at("Śliwiński") < at("Wiśniewska"));
    let register = dir.join("rejestr.csv");
    ok(
        &config,
        &["report", "register", "--out", register.to_str().unwrap()],
    );
    let csv = std::fs::read(&register).unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
    let csv = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert_eq!(csv.lines().count(), 5, "a heading and four cards: {csv}");
    assert!(csv.contains("4/2026;Śliwiński Ignacy;1a;"), "{csv}");
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(";Id ucznia;Drukarka;Partia"),
        "the CSV carries what the page has no room for: {csv}"
    );
    assert!(
        csv.contains(&format!(
            ";S-000004;Evolis Primacy 2 (simulated) SIM-000001;{second}"
        )),
        "{csv}"
    );
    let pdf = dir.join("rejestr.pdf");
    ok(
        &config,
        &["report", "register", "--out", pdf.to_str().unwrap()],
    );
    assert!(pdf_text(&pdf).contains("Rejestr wydanych legitymacji szkolnych"));
    // To look at them: LEGITKA_TEST_KEEP=/some/dir cargo test --test batches
    if let Ok(keep) = std::env::var("LEGITKA_TEST_KEEP") {
        for f in [&protocol, &handover, &pdf, &register] {
            std::fs::copy(f, Path::new(&keep).join(f.file_name().unwrap())).unwrap();
        }
    }
    let h = h.stop().await;
    assert_eq!(
        h.sim.printed_count(),
        4,
        "the cancelled batch's order waits"
    );
    let store = Store::open(&h.db(), &h.settings.station).await.unwrap();
    let waiting = store.orders().await.unwrap();
    let last = waiting.iter().find(|o| o.order_id == ids[4]).unwrap();
    assert_eq!(last.status, "queued");
}
