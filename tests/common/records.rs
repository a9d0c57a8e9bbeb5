//! The records at the store's own interface, on a real SQLite file: sample
//! orders checked as ingest checks them, an operator, a printer that says
//! what became of a card.

use legitka::card::message::{self, Inbound, TrustedKeys};
use legitka::card::order::ValidOrder;
use legitka::card::profile::Profiles;
use legitka::card::render::Renderer;
use legitka::records::actor::{Actor, Via};
use legitka::records::event::PrintedFields;
use legitka::records::store::{Start, Store};

pub fn renderer() -> Renderer {
    let p = Profiles::builtin();
    Renderer::new(p.clone(), p.printer("evolis-primacy-2").unwrap().clone())
}

/// Sample order `i`, changed as `edit` says, checked as ingest checks it.
pub fn valid_with(i: usize, edit: impl FnOnce(&mut serde_json::Value)) -> ValidOrder {
    let mut o = legitka::card::sample::order(i);
    edit(&mut o);
    let raw = o.to_string();
    let Ok(Inbound::Order(m)) = message::parse(raw.as_bytes(), &TrustedKeys::default()) else {
        panic!("sample parses")
    };
    legitka::runtime::ingest::check(&m, &renderer(), legitka::card::sample::SCHOOL_RSPO).unwrap()
}

pub fn valid(i: usize) -> ValidOrder {
    valid_with(i, |_| {})
}

pub fn anna() -> Actor {
    Actor::named("Anna Kowalska", Via::Cli)
}

pub fn mein() -> legitka::card::template::KnownPattern {
    renderer().known_pattern("MEiN-I/1").unwrap()
}

pub async fn store(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("legitka.db"), "s1")
        .await
        .unwrap()
}

/// What the queue records for a card that left the printer.
pub fn printed_fields(card_number: &str) -> PrintedFields {
    PrintedFields {
        card_number: card_number.to_string(),
        printer_model: "Evolis Primacy 2 (simulated)".into(),
        printer_serial: "SIM-000001".into(),
        batch_id: None,
        operator: Some("auto".into()),
        blank_pattern: None,
        blank_serial: None,
    }
}

/// The queue's path for a card that prints: started, then printed.
pub async fn print(store: &Store, order: &ValidOrder) {
    let id = &order.data.order_id;
    assert_eq!(
        store.mark_printing(id, "m", "s").await.unwrap(),
        Start::Started
    );
    store
        .mark_printed(id, &printed_fields(&order.data.card_number))
        .await
        .unwrap();
}

/// The register's blank serials, in register order (`-` for none).
pub async fn serials(store: &Store) -> Vec<String> {
    store
        .register()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.blank_serial.unwrap_or_else(|| "-".into()))
        .collect()
}

/// Events recorded so far, as (type, the whole event).
pub async fn events(store: &Store) -> Vec<(String, serde_json::Value)> {
    store
        .unsent(100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, p)| {
            let v: serde_json::Value = serde_json::from_str(&p).unwrap();
            (v["type"].as_str().unwrap().to_string(), v)
        })
        .collect()
}
