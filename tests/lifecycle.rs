//! Redeliveries, cancels and photo revocations, through the broker.

mod common;

use common::Harness;
use legitka::card::sample;
use legitka::runtime::central::count;
use legitka_drivers::Cause;
use std::time::Duration;

fn cancel_msg(order_id: &str) -> Vec<u8> {
    serde_json::json!({"type": "card.cancel", "order_id": order_id, "created_at": "2026-09-02T08:00:00Z"})
        .to_string()
        .into_bytes()
}

fn revoke_msg(student_id: &str) -> Vec<u8> {
    serde_json::json!({"type": "photo.revoke", "student_id": student_id, "created_at": "2026-09-02T08:00:00Z"})
        .to_string()
        .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_order_is_printed_once() {
    let mut h = Harness::start().await;
    let o = sample::order(0);
    let id = o["order_id"].as_str().unwrap().to_string();
    // Twice before it prints, once after.
    h.central.send_order(&o).await;
    h.central.send_order(&o).await;
    h.wait_for(&id, "card.printed").await;
    h.central.send_order(&o).await;
    // A second order proves the third copy was handled before it.
    let o2 = sample::order(1);
    h.central.send_order(&o2).await;
    h.wait_for(o2["order_id"].as_str().unwrap(), "card.printed")
        .await;
    let h = h.stop().await;
    assert_eq!(h.sim.printed_count(), 2);
    assert_eq!(h.central.events_for(&id, "order.accepted").count(), 1);
    assert_eq!(h.central.events_for(&id, "card.printed").count(), 1);
    assert_eq!(count(&h.central.seen, "order.rejected"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_revoke_act_on_waiting_cards_and_spare_printed_ones() {
    let mut h = Harness::start().await;
    let printed = sample::order(0);
    let printed_id = printed["order_id"].as_str().unwrap().to_string();
    h.central.send_order(&printed).await;
    h.wait_for(&printed_id, "card.printed").await;

    // Feeder empty: the queue waits, the next orders stay queued.
    h.sim.with(|p| p.faults.active = Some(Cause::FeederEmpty));
    let state = h
        .central
        .wait_state(Duration::from_secs(30), |s| {
            s["printer"]["detail"] == "feeder_empty"
        })
        .await
        .expect("state reports the empty feeder");
    assert_eq!(state["printer"]["state"], "error");
    let to_cancel = sample::order(1);
    let to_revoke = sample::order(2);
    let (cid, rid) = (
        to_cancel["order_id"].as_str().unwrap().to_string(),
        to_revoke["order_id"].as_str().unwrap().to_string(),
    );
    h.central.send_order(&to_cancel).await;
    h.central.send_order(&to_revoke).await;
    h.wait_for(&rid, "order.accepted").await;

    let topic = h.central.topics.orders.clone();
    h.central.publish(&topic, cancel_msg(&cid)).await;
    h.wait_for(&cid, "order.cancelled").await;
    h.central.publish(&topic, cancel_msg(&printed_id)).await;
    let refused = h.wait_for(&printed_id, "order.rejected").await;
    assert_eq!(refused["code"], "already_printed");

    let student = to_revoke["student"]["id"].as_str().unwrap().to_string();
    let revocations = h.central.topics.revocations.clone();
    h.central.publish(&revocations, revoke_msg(&student)).await;
    let held = h.wait_for(&rid, "order.held").await;
    assert_eq!(held["code"], "photo_revoked");
    assert!(
        h.central
            .wait_events(Duration::from_secs(10), |ev| ev.iter().any(|e| e["type"]
                == "photo.purged"
                && e["student_id"] == student.as_str()))
            .await
    );

    // The feeder is refilled: nothing waiting may print.
    h.sim.with(|p| p.faults.active = None);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let h = h.stop().await;
    assert_eq!(h.sim.printed_count(), 1);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", h.db().display()))
        .await
        .unwrap();
    let photos: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM orders WHERE photo IS NOT NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        photos.0, 0,
        "no photo is kept: printed, cancelled and revoked alike"
    );
    let pesels: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM orders WHERE data LIKE ?")
        .bind(format!(
            "%{}%",
            printed["student"]["pesel"].as_str().unwrap()
        ))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(pesels.0, 0, "a printed card's PESEL is not kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_before_its_order_holds_even_when_the_order_comes_twice() {
    let mut h = Harness::start().await;
    let o = sample::order(0);
    let id = o["order_id"].as_str().unwrap().to_string();
    let topic = h.central.topics.orders.clone();
    h.central.publish(&topic, cancel_msg(&id)).await;
    h.central.send_order(&o).await;
    h.wait_for(&id, "order.cancelled").await;
    h.central.send_order(&o).await;
    let later = sample::order(1);
    h.central.send_order(&later).await;
    h.wait_for(later["order_id"].as_str().unwrap(), "card.printed")
        .await;
    let h = h.stop().await;
    assert_eq!(h.sim.printed_count(), 1, "only the other order printed");
    assert_eq!(h.central.events_for(&id, "order.cancelled").count(), 1);
    assert_eq!(h.central.events_for(&id, "order.accepted").count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_whose_photo_was_revoked_before_it_arrived_is_held_and_a_newer_photo_prints() {
    let mut h = Harness::start().await;
    let old = sample::order(3);
    let student = old["student"]["id"].as_str().unwrap().to_string();
    let revocations = h.central.topics.revocations.clone();
    h.central.publish(&revocations, revoke_msg(&student)).await;
    assert!(
        h.central
            .wait_events(Duration::from_secs(30), |ev| ev
                .iter()
                .any(|e| e["type"] == "photo.purged"))
            .await
    );
    // The photo in this order was accepted on 2026-08-28, before the revocation.
    h.central.send_order(&old).await;
    let held = h
        .wait_for(old["order_id"].as_str().unwrap(), "order.held")
        .await;
    assert_eq!(held["code"], "photo_revoked");
    // A photo accepted after the revocation is a new photo: it prints.
    let mut new = sample::order(3);
    new["card"]["number"] = serde_json::json!("44/2026");
    new["photo"]["accepted_at"] = serde_json::json!("2026-09-03T10:00:00Z");
    h.central.send_order(&new).await;
    h.wait_for(new["order_id"].as_str().unwrap(), "card.printed")
        .await;
    let h = h.stop().await;
    assert_eq!(h.sim.printed_count(), 1);
}
