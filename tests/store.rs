//! The register's operator paths on a real SQLite file.

use legitka::card::message::{self, Inbound, TrustedKeys};
use legitka::card::profile::Profiles;
use legitka::card::render::Renderer;
use legitka::records::actor::{Actor, Via};
use legitka::records::store::{Offer, Start, Store, StoreError};

fn anna() -> Actor {
    Actor::named("Anna Kowalska", Via::Cli)
}

fn renderer() -> Renderer {
    let p = Profiles::builtin();
    Renderer::new(p.clone(), p.printer("evolis-primacy-2").unwrap().clone())
}

fn mein() -> legitka::card::template::KnownPattern {
    renderer().known_pattern("MEiN-I/1").unwrap()
}

fn valid(i: usize) -> legitka::card::order::ValidOrder {
    let r = renderer();
    let raw = legitka::card::sample::order(i).to_string();
    let Ok(Inbound::Order(m)) = message::parse(raw.as_bytes(), &TrustedKeys::default()) else {
        panic!("sample parses")
    };
    legitka::runtime::ingest::check(&m, &r, legitka::card::sample::SCHOOL_RSPO).unwrap()
}

#[tokio::test]
async fn an_interrupted_card_that_came_out_whole_is_confirmed_not_reprinted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("legitka.db");
    let order = valid(0);
    let id = order.data.order_id.clone();
    {
        let store = Store::open(&db, "s1").await.unwrap();
        assert_eq!(store.offer(&order).await.unwrap(), Offer::Accepted);
        assert_eq!(
            store
                .mark_printing(&id, "Evolis Primacy 2", "PR2-0042")
                .await
                .unwrap(),
            Start::Started
        );
        // The process dies here; the file is all that is left.
    }
    let store = Store::open(&db, "s1").await.unwrap();
    assert_eq!(store.hold_interrupted().await.unwrap(), vec![id.clone()]);
    assert!(
        store.next_queued().await.unwrap().is_none(),
        "held, not queued"
    );
    // While held for checking, a cancel cannot erase a card that may exist.
    assert_eq!(
        store.cancel(&id).await.unwrap(),
        legitka::records::store::CancelOutcome::Printing
    );
    store.confirm_printed(&id, &anna(), None).await.unwrap();
    let reg = store.register().await.unwrap();
    assert_eq!(reg.len(), 1);
    assert_eq!(reg[0].operator.as_deref(), Some("Anna Kowalska"));
    assert_eq!(reg[0].printer_serial, "PR2-0042");
    // Confirmed once: neither a second confirm nor a release can print it.
    assert!(matches!(
        store.confirm_printed(&id, &anna(), None).await,
        Err(StoreError::NotHeld { .. })
    ));
    assert!(matches!(
        store.release(&id, &anna(), false, None).await,
        Err(StoreError::NotHeld { .. })
    ));
    let events: Vec<String> = store
        .unsent(100)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            serde_json::from_str::<serde_json::Value>(e).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "order.accepted",
            "order.held",
            "order.rejected",
            "card.printed"
        ]
    );
}

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

fn db_bytes(db: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        if let Ok(b) = std::fs::read(format!("{}{suffix}", db.display())) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_revocation_keeps_a_hold_for_checking_and_spares_a_newer_photo() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("legitka.db"), "s1")
        .await
        .unwrap();
    // The sample photos were accepted on 2026-08-28.
    let (checked, waiting) = (valid(0), valid(2));
    let id = checked.data.order_id.clone();
    store.offer(&checked).await.unwrap();
    assert_eq!(
        store.mark_printing(&id, "m", "s").await.unwrap(),
        Start::Started
    );
    store.hold_interrupted().await.unwrap();
    // An old revocation (before the photo was accepted) deletes nothing.
    let held = store
        .revoke_photo(&waiting.data.student_id, at("2026-08-01T00:00:00Z"))
        .await
        .unwrap();
    store.offer(&waiting).await.unwrap();
    assert!(held.is_empty());
    let next = store.next_queued().await.unwrap().expect("still queued");
    assert_eq!(
        next.data.order_id, waiting.data.order_id,
        "its photo is kept"
    );
    // A newer revocation of the held card's student: the photo goes, the
    // hold for checking stays, so the operator can still confirm the card.
    let held = store
        .revoke_photo(&checked.data.student_id, at("2026-09-02T00:00:00Z"))
        .await
        .unwrap();
    assert!(
        held.is_empty(),
        "a needs_check hold is not turned into another"
    );
    let row = store
        .orders()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.order_id == id)
        .unwrap();
    assert_eq!(
        (row.status.as_str(), row.hold_code.as_deref()),
        ("held", Some("needs_check"))
    );
    assert_eq!(
        store.cancel(&id).await.unwrap(),
        legitka::records::store::CancelOutcome::Printing,
        "a card that may exist is not cancelled"
    );
    // It did not come out: released, it cannot print without a photo.
    assert_eq!(
        store.release(&id, &anna(), true, None).await.unwrap(),
        legitka::records::store::Released::HeldRevoked
    );
    assert_eq!(store.spoiled_count().await.unwrap(), 1);
}

#[tokio::test]
async fn an_unreadable_stored_order_is_held_and_the_queue_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("legitka.db");
    let store = Store::open(&db, "s1").await.unwrap();
    let (bad, good, other) = (valid(0), valid(1), valid(3));
    for o in [&bad, &good, &other] {
        store.offer(o).await.unwrap();
    }
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE orders SET data = '{not json' WHERE order_id IN (?, ?)")
        .bind(&bad.data.order_id)
        .bind(&other.data.order_id)
        .execute(&pool)
        .await
        .unwrap();
    let next = store.next_queued().await.unwrap().expect("a card to print");
    assert_eq!(next.data.order_id, good.data.order_id);
    let held = store.orders().await.unwrap();
    let bad_row = held
        .iter()
        .find(|o| o.order_id == bad.data.order_id)
        .unwrap();
    assert_eq!(
        bad_row.hold_code.as_deref(),
        Some("stored_order_unreadable")
    );
    // A cancel of an unreadable order is still a cancel, and drops it whole.
    assert_eq!(
        store.cancel(&other.data.order_id).await.unwrap(),
        legitka::records::store::CancelOutcome::Cancelled
    );
}

#[tokio::test]
async fn an_early_cancel_is_forgotten_after_thirty_days() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("legitka.db");
    let store = Store::open(&db, "s1").await.unwrap();
    let (old, fresh) = (valid(0), valid(1));
    store.cancel(&old.data.order_id).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE early_cancels SET at = '2020-01-01T00:00:00.000Z'")
        .execute(&pool)
        .await
        .unwrap();
    // Any later remembered cancel sweeps the old ones.
    store.cancel(&fresh.data.order_id).await.unwrap();
    assert_eq!(store.offer(&old).await.unwrap(), Offer::Accepted);
    assert_eq!(store.offer(&fresh).await.unwrap(), Offer::CancelledEarly);
}

#[tokio::test]
async fn a_purged_photo_and_pesel_leave_no_bytes_in_the_database_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("legitka.db");
    let store = Store::open(&db, "s1").await.unwrap();
    let (printed, revoked) = (valid(0), valid(2));
    let legitka::card::order::Identity::Pesel(pesel) = printed.data.identity.clone() else {
        panic!("sample has a PESEL")
    };
    // A run of the photo's bytes from its middle: the entropy-coded data.
    let jpeg = revoked.photo.jpeg();
    let chunk = jpeg[jpeg.len() / 2..jpeg.len() / 2 + 64].to_vec();
    store.offer(&printed).await.unwrap();
    store.offer(&revoked).await.unwrap();
    assert!(contains(&db_bytes(&db), pesel.as_bytes()));
    assert!(contains(&db_bytes(&db), &chunk));
    let id = &printed.data.order_id;
    store.mark_printing(id, "m", "s").await.unwrap();
    store
        .mark_printed(
            id,
            &legitka::records::event::PrintedFields {
                card_number: printed.data.card_number.clone(),
                printer_model: "m".into(),
                printer_serial: "s".into(),
                batch_id: None,
                operator: None,
                blank_pattern: None,
                blank_serial: None,
            },
        )
        .await
        .unwrap();
    store
        .revoke_photo(&revoked.data.student_id, at("2026-09-02T00:00:00Z"))
        .await
        .unwrap();
    store.checkpoint_if_purged().await.unwrap();
    let bytes = db_bytes(&db);
    assert!(!contains(&bytes, pesel.as_bytes()), "the PESEL is gone");
    assert!(!contains(&bytes, &chunk), "the photo is gone");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&db).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the database is private: {mode:o}");
}

#[tokio::test]
async fn cards_on_numbered_blanks_wait_while_a_held_card_has_its_blank_reserved() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("legitka.db"), "s1")
        .await
        .unwrap();
    let (first, second) = (valid(0), valid(1));
    let (a, b) = (first.data.order_id.clone(), second.data.order_id.clone());
    store.offer(&first).await.unwrap();
    store.offer(&second).await.unwrap();
    store
        .receive_blanks(&mein(), "000101", 5, false, &anna())
        .await
        .unwrap();
    store
        .load_blanks("MEiN-I/1", "000101", 5, &anna())
        .await
        .unwrap();
    assert_eq!(
        store.mark_printing(&a, "m", "s").await.unwrap(),
        Start::Started
    );
    // A crash: the first card may or may not have taken blank 000101.
    assert_eq!(store.hold_interrupted().await.unwrap(), vec![a.clone()]);
    assert!(
        store.next_queued().await.unwrap().is_none(),
        "the next card waits for the operator's word on blank 000101"
    );
    // It never left the feeder: released without spoiling, 000101 is free.
    store.release(&a, &anna(), false, None).await.unwrap();
    let next = store
        .next_queued()
        .await
        .unwrap()
        .expect("the queue goes on");
    assert_eq!(next.data.order_id, a);
    assert_eq!(
        store.mark_printing(&a, "m", "s").await.unwrap(),
        Start::Started
    );
    let fields = legitka::records::event::PrintedFields {
        card_number: first.data.card_number.clone(),
        printer_model: "m".into(),
        printer_serial: "s".into(),
        batch_id: None,
        operator: None,
        blank_pattern: None,
        blank_serial: None,
    };
    store.mark_printed(&a, &fields).await.unwrap();
    assert_eq!(
        store.mark_printing(&b, "m", "s").await.unwrap(),
        Start::Started
    );
    store
        .mark_printed(
            &b,
            &legitka::records::event::PrintedFields {
                card_number: second.data.card_number.clone(),
                ..fields
            },
        )
        .await
        .unwrap();
    let serials: Vec<_> = store
        .register()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.blank_serial.unwrap())
        .collect();
    assert_eq!(serials, ["000101", "000102"]);
}

/// The first morning of September: a whole school's orders waiting, one
/// batch over all of them on a delivery of blanks, then a class's holograms.
#[tokio::test]
async fn a_school_sized_batch_takes_every_waiting_order_and_its_blanks_in_order() {
    const SCHOOL: usize = 2000;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("legitka.db"), "s1")
        .await
        .unwrap()
        .with_mode(legitka::records::store::QueueMode::Batch);
    let template = valid(0);
    // Committed together, as ingest's group commits do.
    let mut tx = store.begin().await.unwrap();
    for i in 0..SCHOOL {
        let mut o = template.clone();
        o.data.order_id = uuid::Uuid::new_v4().to_string();
        o.data.card_number = format!("{}/2026", i + 1);
        o.data.student_id = format!("S-{:06}", i + 1);
        assert_eq!(store.offer_in(&mut tx, &o).await.unwrap(), Offer::Accepted);
    }
    tx.commit().await.unwrap();
    let started = std::time::Instant::now();
    assert!(
        store.next_queued().await.unwrap().is_none(),
        "nothing prints without a batch"
    );
    store
        .receive_blanks(&mein(), "000001", 2500, true, &anna())
        .await
        .unwrap();
    let started_batch = store
        .start_batch(
            &legitka::records::store::BatchRequest {
                first_blank: "000001".into(),
                ..Default::default()
            },
            &anna(),
        )
        .await
        .unwrap();
    let id = started_batch.id;
    assert_eq!(started_batch.cards, SCHOOL);
    let stock = store.blank_stock().await.unwrap();
    assert_eq!((stock[0].loaded, stock[0].in_stock), (SCHOOL as i64, 500));
    let b = store.batch(&id).await.unwrap();
    assert_eq!(b.waiting, SCHOOL as i64);
    let first = store
        .next_queued()
        .await
        .unwrap()
        .expect("the batch prints");
    assert_eq!(first.data.card_number, "1/2026");
    // Not a benchmark: printed so a run shows the scale's cost (it was 97 s).
    eprintln!(
        "2,000 orders: blanks received, batch started, next card chosen in {:?}",
        started.elapsed()
    );
}
