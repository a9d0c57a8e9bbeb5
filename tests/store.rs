//! The register's operator paths on a real SQLite file.

use legitka::message::{self, Inbound, TrustedKeys};
use legitka::profile::Profiles;
use legitka::render::Renderer;
use legitka::store::{Offer, Store, StoreError};

fn valid(i: usize) -> legitka::order::ValidOrder {
    let p = Profiles::builtin();
    let r = Renderer::new(p.clone(), p.printer("evolis-primacy-2").unwrap().clone());
    let raw = legitka::sample::order(i).to_string();
    let Ok(Inbound::Order(m)) = message::parse(raw.as_bytes(), &TrustedKeys::default()) else {
        panic!("sample parses")
    };
    legitka::ingest::check(&m, &r, legitka::sample::SCHOOL_RSPO).unwrap()
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
        assert!(store
            .mark_printing(&id, "Evolis Primacy 2", "PR2-0042")
            .await
            .unwrap());
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
        legitka::store::CancelOutcome::Printing
    );
    store.confirm_printed(&id, "Anna Kowalska").await.unwrap();
    let reg = store.register().await.unwrap();
    assert_eq!(reg.len(), 1);
    assert_eq!(reg[0].operator.as_deref(), Some("Anna Kowalska"));
    assert_eq!(reg[0].printer_serial, "PR2-0042");
    // Confirmed once: neither a second confirm nor a release can print it.
    assert!(matches!(
        store.confirm_printed(&id, "x").await,
        Err(StoreError::NotHeld { .. })
    ));
    assert!(matches!(
        store.release(&id, "x", false).await,
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
