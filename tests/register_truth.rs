//! The register follows the physical blanks on every operator's path: one
//! test per way it once did not (issue 15, section 2), at the store's own
//! interface on a real SQLite file. Each of them failed before its fix.

mod common;

use common::records::{
    anna, events, mein, print, printed_fields, serials, store, valid, valid_with,
};
use legitka::records::actor::{Actor, Via};
use legitka::records::hologram::SchoolYear;
use legitka::records::store::{
    BatchError, BatchRequest, BlankError, CardError, CardRef, ClassCards, Offer, QueueMode, Start,
    StoreError, NO_BLANKS,
};

fn batch_of(first: &str, orders: &[&str]) -> BatchRequest {
    BatchRequest {
        first_blank: first.into(),
        orders: orders.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// 1. A card that reserved no blank when it started is registered on no
/// blank, never on "the next loaded one" (which another card took).
#[tokio::test]
async fn a_card_that_reserved_no_blank_is_registered_without_one_not_on_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let (a, b, c) = (valid(0), valid(1), valid(2));
    for o in [&a, &b, &c] {
        s.offer(o).await.unwrap();
    }
    // A started with no blank loaded (none received yet), then a crash.
    assert_eq!(
        s.mark_printing(&a.data.order_id, "m", "s").await.unwrap(),
        Start::Started
    );
    s.hold_interrupted().await.unwrap();
    // A stack is loaded; B prints on 000101.
    s.receive_blanks(&mein(), "000101", 5, false, &anna())
        .await
        .unwrap();
    s.load_blanks("MEiN-I/1", "000101", 5, &anna())
        .await
        .unwrap();
    print(&s, &b).await;
    // The operator confirms A: it took no blank the station knows of.
    s.confirm_printed(&a.data.order_id, &anna(), None)
        .await
        .unwrap();
    assert_eq!(serials(&s).await, ["000101", "-"]);
    // The next card still takes 000102, the blank first in the feeder.
    print(&s, &c).await;
    assert_eq!(serials(&s).await, ["000101", "-", "000102"]);
}

/// 1. The operator may type the serial a card without a reservation used;
/// a card with one is registered on it and no other.
#[tokio::test]
async fn the_operator_types_the_serial_of_a_card_that_reserved_none_and_only_then() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let (a, b) = (valid(0), valid(1));
    s.offer(&a).await.unwrap();
    s.offer(&b).await.unwrap();
    s.mark_printing(&a.data.order_id, "m", "s").await.unwrap();
    s.hold_interrupted().await.unwrap();
    s.receive_blanks(&mein(), "000101", 3, false, &anna())
        .await
        .unwrap();
    // Loaded by hand without telling the station: it is in stock.
    s.confirm_printed(&a.data.order_id, &anna(), Some("000103"))
        .await
        .unwrap();
    assert_eq!(serials(&s).await, ["000103"]);
    s.load_blanks("MEiN-I/1", "000101", 2, &anna())
        .await
        .unwrap();
    s.mark_printing(&b.data.order_id, "m", "s").await.unwrap();
    s.hold_interrupted().await.unwrap();
    let err = s
        .confirm_printed(&b.data.order_id, &anna(), Some("000102"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Blank(BlankError::NotItsBlank { ref reserved, .. }) if reserved == "000101"),
        "{err}"
    );
    s.confirm_printed(&b.data.order_id, &anna(), None)
        .await
        .unwrap();
    assert_eq!(serials(&s).await, ["000103", "000101"]);
}

/// 2. A batch cancelled while its card was held: released, the card waits
/// like any other and joins another batch.
#[tokio::test]
async fn a_card_held_when_its_batch_was_cancelled_prints_in_another_batch() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await.with_mode(QueueMode::Batch);
    let (a, b) = (valid(0), valid(1));
    s.offer(&a).await.unwrap();
    s.offer(&b).await.unwrap();
    s.receive_blanks(&mein(), "000101", 10, false, &anna())
        .await
        .unwrap();
    let first = s
        .start_batch(&batch_of("000101", &[]), &anna())
        .await
        .unwrap();
    s.mark_printing(&a.data.order_id, "m", "s").await.unwrap();
    s.hold_interrupted().await.unwrap();
    let unloaded = s
        .set_batch_status(&first.id, "cancelled", &anna())
        .await
        .unwrap()
        .unwrap();
    // 000101 stays with the held card; 000102 goes back to stock.
    assert_eq!(unloaded.serials, ["000102"]);
    assert_eq!(unloaded.reserved[0].0, "000101");
    // It never left the feeder; the operator took the stack out with it.
    s.release(&a.data.order_id, &anna(), false, None)
        .await
        .unwrap();
    let second = s
        .start_batch(&batch_of("000101", &[&a.data.order_id]), &anna())
        .await
        .expect("the released card joins a new batch");
    let next = s.next_queued().await.unwrap().expect("it prints");
    assert_eq!(next.data.order_id, a.data.order_id);
    print(&s, &a).await;
    let view = s.batch(&second.id).await.unwrap();
    assert_eq!(view.printed_cards[0].2.as_deref(), Some("000101"));
}

/// 3. The feeder's records are reconciled with the feeder: an unload takes
/// the stack back to stock; a batch's card that finds no blank holds the
/// batch; a batch's protocol names the blanks it used.
#[tokio::test]
async fn the_feeder_is_unloaded_and_a_batch_with_no_blank_left_waits_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await.with_mode(QueueMode::Batch);
    let orders: Vec<_> = (0..3).map(valid).collect();
    for o in &orders {
        s.offer(o).await.unwrap();
    }
    s.receive_blanks(&mein(), "000101", 10, false, &anna())
        .await
        .unwrap();
    // Unload: loaded -> stock, answered with the range.
    s.load_blanks("MEiN-I/1", "000105", 3, &anna())
        .await
        .unwrap();
    let u = s.unload_blanks("MEiN-I/1", &anna()).await.unwrap();
    assert_eq!(u.serials, ["000105", "000106", "000107"]);
    let stock = &s.blank_stock().await.unwrap()[0];
    assert_eq!((stock.loaded, stock.in_stock), (0, 10));
    assert!(matches!(
        s.unload_blanks("MEiN-I/1", &anna()).await.unwrap_err(),
        StoreError::Blank(BlankError::NoneLoaded(_))
    ));

    // A batch of 3 on 3 blanks; the first jams: the third card finds none.
    let b = s
        .start_batch(&batch_of("000101", &[]), &anna())
        .await
        .unwrap();
    assert_eq!(b.loaded, ["000101", "000102", "000103"]);
    let (a, bb, c) = (&orders[0], &orders[1], &orders[2]);
    s.mark_printing(&a.data.order_id, "m", "s").await.unwrap();
    s.spoil_and_requeue(&a.data.order_id, "card_jam", "jam")
        .await
        .unwrap();
    print(&s, a).await;
    print(&s, bb).await;
    assert_eq!(
        s.mark_printing(&c.data.order_id, "m", "s").await.unwrap(),
        Start::NoBlank,
        "never printed without a serial"
    );
    let view = s.batch(&b.id).await.unwrap();
    assert_eq!(view.status, "paused");
    assert_eq!(view.paused_reason.as_deref(), Some(NO_BLANKS));
    assert!(s.next_queued().await.unwrap().is_none(), "the batch waits");
    // The operator puts the next blank in: the batch goes on by itself.
    s.load_blanks("MEiN-I/1", "000104", 1, &anna())
        .await
        .unwrap();
    assert_eq!(s.batch(&b.id).await.unwrap().status, "running");
    print(&s, c).await;
    assert_eq!(serials(&s).await, ["000102", "000103", "000104"]);
    let table = legitka::records::report::catalogue::build(
        &s,
        "12345",
        &legitka::records::report::catalogue::Report::Batch {
            batch: b.id.clone(),
        },
    )
    .await
    .unwrap();
    let subtitle = table.subtitle.join(" ");
    assert!(
        subtitle.contains("druki MEiN-I/1 nr 000101 – 000104"),
        "the protocol names the blanks used: {subtitle}"
    );
}

/// 3. A batch that ends with a blank to spare (a member revoked) leaves it
/// in the feeder: the next batch, put in behind it, says so and prints on
/// it first, and its protocol names what it used.
#[tokio::test]
async fn a_spare_blank_left_by_one_batch_is_the_next_ones_first_and_its_protocol_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await.with_mode(QueueMode::Batch);
    let orders: Vec<_> = (0..3).map(valid).collect();
    for o in &orders {
        s.offer(o).await.unwrap();
    }
    s.receive_blanks(&mein(), "000101", 10, false, &anna())
        .await
        .unwrap();
    let ids: Vec<&str> = orders.iter().map(|o| o.data.order_id.as_str()).collect();
    let first = s
        .start_batch(&batch_of("000101", &ids[..2]), &anna())
        .await
        .unwrap();
    s.revoke_photo(&orders[1].data.student_id, chrono::Utc::now())
        .await
        .unwrap();
    print(&s, &orders[0]).await;
    assert!(s.next_queued().await.unwrap().is_none());
    // 000102 is left in the feeder. A stack from 000104 is not behind it.
    let err = s
        .start_batch(&batch_of("000104", &ids[2..]), &anna())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Batch(BatchError::OtherStackLoaded { ref first_loaded, .. }) if first_loaded == "000102"),
        "{err}"
    );
    let second = s
        .start_batch(&batch_of("000103", &ids[2..]), &anna())
        .await
        .unwrap();
    assert_eq!(second.kept, ["000102"]);
    print(&s, &orders[2]).await;
    assert_eq!(serials(&s).await, ["000101", "000102"]);
    let view = s.batch(&second.id).await.unwrap();
    assert_eq!(view.blanks_used(), ["000102"]);
    let _ = first;
}

/// 4. A blank reserved by a card in the printer or held for checking cannot
/// be destroyed or returned: only that card's settling says what it became.
#[tokio::test]
async fn a_reserved_blank_is_neither_destroyed_nor_returned() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let a = valid(0);
    s.offer(&a).await.unwrap();
    s.receive_blanks(&mein(), "000101", 3, false, &anna())
        .await
        .unwrap();
    s.load_blanks("MEiN-I/1", "000101", 3, &anna())
        .await
        .unwrap();
    s.mark_printing(&a.data.order_id, "m", "s").await.unwrap();
    for how in ["destroyed", "returned"] {
        let err = s
            .dispose_blank("MEiN-I/1", "000101", how, "scratched", &anna())
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Blank(BlankError::Reserved { .. })),
            "{err}"
        );
    }
    // A loaded blank nobody reserved can be taken out and destroyed.
    s.dispose_blank("MEiN-I/1", "000103", "destroyed", "bent", &anna())
        .await
        .unwrap();
    s.hold_interrupted().await.unwrap();
    assert!(s
        .dispose_blank("MEiN-I/1", "000101", "destroyed", "x", &anna())
        .await
        .is_err());
}

/// 5. A held card that never reached the printer (a render refusal) used
/// no blank: releasing it as spoiled is refused, and its blank stays.
#[tokio::test]
async fn a_card_that_never_started_cannot_spoil_a_blank() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let a = valid(0);
    s.offer(&a).await.unwrap();
    s.receive_blanks(&mein(), "000101", 2, false, &anna())
        .await
        .unwrap();
    s.load_blanks("MEiN-I/1", "000101", 2, &anna())
        .await
        .unwrap();
    s.hold(&a.data.order_id, "text_overflow", "too long", &[])
        .await
        .unwrap();
    let err = s
        .release(&a.data.order_id, &anna(), true, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Blank(BlankError::NeverStarted { .. })),
        "{err}"
    );
    let stock = &s.blank_stock().await.unwrap()[0];
    assert_eq!((stock.loaded, stock.spoiled), (2, 0));
    s.release(&a.data.order_id, &anna(), false, None)
        .await
        .unwrap();
}

/// 6. Starting a batch is one transaction: a failure after its blanks were
/// loaded leaves nothing loaded, and the retry is not refused.
#[tokio::test]
async fn a_batch_that_fails_to_start_leaves_no_blank_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let a = valid(0);
    s.offer(&a).await.unwrap();
    s.receive_blanks(&mein(), "000101", 5, false, &anna())
        .await
        .unwrap();
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("legitka.db").display()
    ))
    .await
    .unwrap();
    // The database refuses the batch row itself (a full disk, say).
    sqlx::query(
        "CREATE TRIGGER refuse_batches BEFORE INSERT ON batches
         BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert!(s
        .start_batch(&batch_of("000101", &[]), &anna())
        .await
        .is_err());
    assert_eq!(s.blank_stock().await.unwrap()[0].loaded, 0);
    sqlx::query("DROP TRIGGER refuse_batches")
        .execute(&pool)
        .await
        .unwrap();
    let b = s
        .start_batch(&batch_of("000101", &[]), &anna())
        .await
        .expect("the retry starts");
    assert_eq!(b.loaded, ["000101"]);
}

/// 7. A pattern is what a card layout names, not free text.
#[test]
fn a_mistyped_pattern_is_refused_naming_the_patterns_there_are() {
    let r = common::records::renderer();
    let err = r.known_pattern("MEIN-I/1").unwrap_err();
    assert!(err.contains("MEiN-I/1, MEiN-I/3-N"), "{err}");
    assert_eq!(r.known_pattern(" MEiN-I/1 ").unwrap().as_str(), "MEiN-I/1");
}

/// 8. A duplicate copies an issued card of the same pupil; a replacement
/// does not take over another pupil's number; one pending at a time.
#[tokio::test]
async fn a_duplicate_needs_the_pupils_own_issued_card_and_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let (mine, theirs) = (valid(0), valid(1));
    s.offer(&mine).await.unwrap();
    s.offer(&theirs).await.unwrap();
    let reason = |r: &'static str, number: &'static str| {
        move |o: &mut serde_json::Value| {
            o["reason"] = r.into();
            o["card"]["number"] = number.into();
        }
    };
    // Pupil 0 asks for a duplicate of card 1/2026 before it was printed.
    let early = valid_with(0, reason("duplicate", "1/2026"));
    assert!(
        matches!(s.offer(&early).await.unwrap(), Offer::NumberRefused(ref m) if m.contains("no card 1/2026 was issued"))
    );
    print(&s, &mine).await;
    print(&s, &theirs).await;
    // Pupil 0 asks for a duplicate under pupil 1's number.
    let stolen = valid_with(0, reason("duplicate", "2/2026"));
    assert!(
        matches!(s.offer(&stolen).await.unwrap(), Offer::NumberRefused(ref m) if m.contains("issued to another pupil"))
    );
    let stolen = valid_with(0, reason("replacement", "2/2026"));
    assert!(matches!(
        s.offer(&stolen).await.unwrap(),
        Offer::NumberRefused(_)
    ));
    // The pupil's own: accepted; a second one while it waits: refused.
    let dup = valid_with(0, reason("duplicate", "1/2026"));
    assert_eq!(s.offer(&dup).await.unwrap(), Offer::Accepted);
    let again = valid_with(0, reason("duplicate", "1/2026"));
    assert!(
        matches!(s.offer(&again).await.unwrap(), Offer::NumberRefused(ref m) if m.contains("still waiting to print"))
    );
    // A replacement under a new number is a new number.
    let renumbered = valid_with(1, reason("replacement", "77/2026"));
    assert_eq!(s.offer(&renumbered).await.unwrap(), Offer::Accepted);
}

/// 9. A number that names an original and its duplicate is refused with
/// the list; the row or blank serial names one.
#[tokio::test]
async fn a_card_number_naming_two_cards_is_refused_with_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let original = valid(0);
    s.offer(&original).await.unwrap();
    s.receive_blanks(&mein(), "000101", 5, false, &anna())
        .await
        .unwrap();
    s.load_blanks("MEiN-I/1", "000101", 5, &anna())
        .await
        .unwrap();
    print(&s, &original).await;
    let dup = valid_with(0, |o| o["reason"] = "duplicate".into());
    s.offer(&dup).await.unwrap();
    print(&s, &dup).await;
    let by_number = CardRef::Number("1/2026".into());
    let err = s
        .return_card(&by_number, "found", &anna())
        .await
        .unwrap_err();
    let StoreError::Card(CardError::Ambiguous { rows, .. }) = &err else {
        panic!("{err}")
    };
    assert_eq!(rows.len(), 2);
    assert!(err.to_string().contains("blank 000101"), "{err}");
    // The found original, by the serial on it: the duplicate stays valid.
    let original_row = s
        .return_card(
            &CardRef::Blank {
                number: Some("1/2026".into()),
                serial: "000101".into(),
            },
            "found after the duplicate",
            &anna(),
        )
        .await
        .unwrap();
    let reg = s.register_entries(&Default::default()).await.unwrap();
    assert_eq!(reg[0].id, original_row);
    assert!(reg[0].returned.is_some());
    assert!(reg[1].returned.is_none(), "the duplicate is not returned");
}

/// 10. The register's date of issue is the date printed on the card.
#[tokio::test]
async fn the_register_records_the_issue_date_printed_on_the_card() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let a = valid_with(0, |o| o["card"]["issue_date"] = "2026-01-01".into());
    s.offer(&a).await.unwrap();
    print(&s, &a).await;
    let e = &s.register_entries(&Default::default()).await.unwrap()[0];
    assert_eq!(e.issued, "2026-01-01");
    let by_year = s
        .register_entries(&legitka::records::store::RegisterFilter {
            year: Some(2026),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_year.len(), 1, "the year is the card's");
    assert_eq!(
        s.register().await.unwrap()[0].issue_date.as_deref(),
        Some("2026-01-01")
    );
}

/// 11. A class's holograms go on the cards the class was issued in a given
/// school year: last year's 4b and this year's 4b are different pupils.
#[tokio::test]
async fn a_class_is_validated_as_issued_in_its_school_year_and_a_pile_as_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let last_year = valid_with(0, |o| {
        o["card"]["issue_date"] = "2025-09-01".into();
        o["student"]["class"] = "4b".into();
    });
    let this_year = valid_with(1, |o| o["student"]["class"] = "4b".into());
    s.offer(&last_year).await.unwrap();
    s.offer(&this_year).await.unwrap();
    print(&s, &last_year).await;
    print(&s, &this_year).await;
    // Whatever today is: the school year the cards were issued for, or a
    // later one.
    let year = SchoolYear::current();
    let issued_in: SchoolYear = "2026/2027".parse().unwrap();
    s.receive_holograms(year, "H001", 5, false, &anna())
        .await
        .unwrap();
    let plan = s
        .apply_class(
            &ClassCards {
                class: "4b".into(),
                issued_in,
            },
            year,
            "H001",
            &anna(),
            true,
        )
        .await
        .unwrap();
    assert_eq!(plan.len(), 1);
    assert_eq!(plan[0].card_number, "2/2026");
    assert_eq!(plan[0].issue_date, "2026-09-01");
    // The pile as scanned: card after card, stickers counted on.
    let pile: Vec<CardRef> = ["2/2026", "1/2026"]
        .iter()
        .filter_map(|l| CardRef::from_line(l))
        .collect();
    let done = s
        .apply_pile(&pile, year, "H001", &anna(), false)
        .await
        .unwrap();
    let got: Vec<(&str, &str)> = done
        .iter()
        .map(|a| (a.card_number.as_str(), a.serial.as_str()))
        .collect();
    assert_eq!(got, [("2/2026", "H001"), ("1/2026", "H002")]);
}

/// 13, 14. Every change writes its audit line in its own transaction; a
/// refused change writes none; a spoiled hologram on a card names it.
#[tokio::test]
async fn every_change_is_audited_with_it_and_a_refusal_audits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let web = Actor {
        login: "anna".into(),
        name: "Anna Kowalska (anna)".into(),
        via: Via::Web,
    };
    let audit = || async { s.audit_entries(None, 1000).await.unwrap() };
    s.receive_blanks(&mein(), "000101", 3, false, &web)
        .await
        .unwrap();
    s.load_blanks("MEiN-I/1", "000101", 2, &web).await.unwrap();
    s.dispose_blank("MEiN-I/1", "000103", "returned", "damaged", &web)
        .await
        .unwrap();
    s.unload_blanks("MEiN-I/1", &web).await.unwrap();
    let before = audit().await.len();
    assert!(s
        .dispose_blank("MEiN-I/1", "000103", "destroyed", "x", &web)
        .await
        .is_err());
    assert_eq!(audit().await.len(), before, "a refusal is not audited");
    let log = audit().await;
    let actions: Vec<&str> = log.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "blanks.receive",
            "blanks.load",
            "blanks.return",
            "blanks.unload"
        ]
    );
    assert!(log.iter().all(|e| e.login == "anna" && e.via == "web"));
}

/// 16. A large delivery is confirmed; a range recorded in error is voided,
/// kept, and no longer counted.
#[tokio::test]
async fn a_large_delivery_is_confirmed_and_a_mistyped_one_voided() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let err = s
        .receive_blanks(&mein(), "000001", 5000, false, &anna())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Blank(BlankError::LargeDelivery { count: 5000 })
        ),
        "{err}"
    );
    assert!(
        s.blank_stock().await.unwrap().is_empty(),
        "nothing recorded"
    );
    s.receive_blanks(&mein(), "000001", 5000, true, &anna())
        .await
        .unwrap();
    // It was 500: 4,500 never existed.
    s.load_blanks("MEiN-I/1", "000001", 2, &anna())
        .await
        .unwrap();
    let err = s
        .void_blanks("MEiN-I/1", "000001", 10, "typo", &anna())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Blank(BlankError::Used { .. })),
        "a loaded blank is not voided: {err}"
    );
    s.void_blanks(
        "MEiN-I/1",
        "000501",
        4500,
        "delivery note says 500",
        &anna(),
    )
    .await
    .unwrap();
    let stock = &s.blank_stock().await.unwrap()[0];
    assert_eq!(
        (stock.received, stock.in_stock, stock.loaded, stock.voided),
        (500, 498, 2, 4500)
    );
    let err = s
        .load_blanks("MEiN-I/1", "000600", 1, &anna())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Blank(BlankError::Voided { .. })),
        "{err}"
    );
    assert!(s.audit_entries(None, 10).await.unwrap().iter().any(
        |e| e.action == "blanks.void" && e.detail.as_deref() == Some("delivery note says 500")
    ));
}

/// 17. What the records say of a card: no daemon's run id as its batch; a
/// confirmed batch card names who confirmed it; serials carry their
/// pattern; the database itself refuses a second card on an order or a
/// blank; the blanks report counts cards without a serial.
#[tokio::test]
async fn labels_say_what_happened_and_the_database_refuses_a_double() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await.with_mode(QueueMode::Batch);
    let (a, b) = (valid(0), valid(1));
    s.offer(&a).await.unwrap();
    s.offer(&b).await.unwrap();
    s.receive_blanks(&mein(), "000101", 5, false, &anna())
        .await
        .unwrap();
    s.start_batch(&batch_of("000101", &[]), &anna())
        .await
        .unwrap();
    print(&s, &a).await;
    s.mark_printing(&b.data.order_id, "m", "s").await.unwrap();
    s.hold_interrupted().await.unwrap();
    let bogdan = Actor::named("Bogdan Nowak", Via::Cli);
    s.confirm_printed(&b.data.order_id, &bogdan, None)
        .await
        .unwrap();
    let printed: Vec<serde_json::Value> = events(&s)
        .await
        .into_iter()
        .filter(|(k, _)| k == "card.printed")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(printed[0]["operator"], "Anna Kowalska", "the batch's");
    assert_eq!(printed[1]["operator"], "Bogdan Nowak", "who confirmed it");
    assert_eq!(printed[1]["blank_pattern"], "MEiN-I/1");
    assert_eq!(printed[1]["blank_serial"], "000102");
    let reg = s.register().await.unwrap();
    assert_eq!(reg[1].blank_pattern.as_deref(), Some("MEiN-I/1"));

    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("legitka.db").display()
    ))
    .await
    .unwrap();
    let double = |order: &str, serial: &str| {
        format!(
            "INSERT INTO cards (card_number, order_id, student_id, last_name, first_names, reason,
                                printed_at, printer_model, printer_serial, blank_pattern, blank_serial)
             VALUES ('9/2026', '{order}', 'S', 'X', 'Y', 'new', 'now', 'm', 's', 'MEiN-I/1', '{serial}')"
        )
    };
    assert!(
        sqlx::query(sqlx::AssertSqlSafe(double(&a.data.order_id, "000199")))
            .execute(&pool)
            .await
            .is_err(),
        "a second card on an order"
    );
    assert!(
        sqlx::query(sqlx::AssertSqlSafe(double(
            &valid(3).data.order_id,
            "000101"
        )))
        .execute(&pool)
        .await
        .is_err(),
        "a second card on a blank"
    );

    // An auto-mode card carries no batch at all.
    let dir2 = tempfile::tempdir().unwrap();
    let auto = store(&dir2).await;
    let c = valid(2);
    auto.offer(&c).await.unwrap();
    print(&auto, &c).await;
    let ev = events(&auto).await;
    let printed = ev.iter().find(|(k, _)| k == "card.printed").unwrap();
    assert_eq!(printed.1["batch_id"], serde_json::Value::Null);
    let _ = printed_fields;
}

/// 17. Cards and spoiled blanks recorded without a serial are counted in
/// the blanks accounting, not lost from it.
#[tokio::test]
async fn cards_without_a_serial_are_counted_in_the_blanks_accounting() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let a = valid(0);
    s.offer(&a).await.unwrap();
    // Started before the school accounted blanks in the station.
    s.mark_printing(&a.data.order_id, "m", "s").await.unwrap();
    s.hold_interrupted().await.unwrap();
    s.receive_blanks(&mein(), "000101", 2, false, &anna())
        .await
        .unwrap();
    s.confirm_printed(&a.data.order_id, &anna(), None)
        .await
        .unwrap();
    let stock = &s.blank_stock().await.unwrap()[0];
    assert_eq!(stock.cards_without_serial, 1);
    let table = legitka::records::report::catalogue::build(
        &s,
        "12345",
        &legitka::records::report::catalogue::Report::Blanks,
    )
    .await
    .unwrap();
    assert!(
        table
            .after
            .iter()
            .any(|l| l.contains("bez numeru druku zapisano 1 legitymacji")),
        "{:?}",
        table.after
    );
}
