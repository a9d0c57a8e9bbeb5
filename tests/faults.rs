//! What a card printer does in a school's first week of September, done by
//! the real simulator over a pseudo-terminal: the station pauses with the
//! cause in its state, records the blank, resumes when the fault is cleared,
//! and neither loses nor duplicates a card.

mod common;

use common::Harness;
use legitka::records::store::Store;
use legitka_drivers::Cause;
use legitka_sim::SimConfig;
use std::time::Duration;

async fn register_of(h: &Harness) -> Vec<String> {
    let store = Store::open(&h.db(), &h.settings.station).await.unwrap();
    let mut ids: Vec<String> = store
        .register()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.order_id)
        .collect();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn spoiling_fault(cause: Cause) {
    let mut h = Harness::start().await;
    h.sim.with(|p| p.faults.fail_card = Some((2, cause)));
    let ids = h.send_orders(0, 3).await;
    let spoiled = h.wait_for(&ids[1], "card.spoiled").await;
    assert_eq!(spoiled["cause"], cause.as_str());
    assert_eq!(
        h.wait_for(&ids[1], "card.failed").await["code"],
        cause.as_str()
    );
    let state = h
        .central
        .wait_state(Duration::from_secs(30), |s| {
            s["printer"]["detail"] == cause.as_str()
        })
        .await
        .expect("the state names the cause");
    assert_eq!(state["printer"]["state"], "error");
    // Paused: nothing more prints while the fault stands.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.sim.printed_count(), 1);
    assert!(h
        .central
        .events_for(&ids[2], "card.printed")
        .next()
        .is_none());

    h.sim.with(|p| p.faults.active = None);
    h.wait_for(&ids[1], "card.printed").await;
    h.wait_for(&ids[2], "card.printed").await;
    let h = h.stop().await;
    assert_eq!(h.sim.printed_count(), 3);
    assert_eq!(
        h.sim.with(|p| p.jobs_started()),
        4,
        "one blank spoiled, three cards"
    );
    assert_eq!(
        register_of(&h).await,
        sorted(ids.clone()),
        "each card registered once"
    );
    for id in &ids {
        assert_eq!(h.central.events_for(id, "card.printed").count(), 1);
    }
    let store = Store::open(&h.db(), &h.settings.station).await.unwrap();
    assert_eq!(store.spoiled_count().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_jam_spoils_one_blank_and_the_queue_resumes_when_cleared() {
    spoiling_fault(Cause::CardJam).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cover_opened_mid_card_spoils_one_blank_and_the_queue_resumes_when_closed() {
    spoiling_fault(Cause::CoverOpen).await;
}

/// A fault before a card starts: nothing is spoiled, the queue just waits.
async fn waiting_fault(
    config: SimConfig,
    detail: &str,
    fix: impl Fn(&mut legitka_sim::SimPrinter),
) {
    let mut h = Harness::start_sim(config).await;
    let ids = h.send_orders(0, 3).await;
    h.wait_for(&ids[0], "card.printed").await;
    h.central
        .wait_state(Duration::from_secs(30), |s| {
            s["printer"]["detail"] == detail
        })
        .await
        .unwrap_or_else(|| panic!("the state says {detail}"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.sim.printed_count(), 1);
    assert!(
        h.central
            .wait_events(Duration::from_secs(10), |ev| ev
                .iter()
                .any(|e| e["type"] == "printer.paused" && e["cause"] == detail))
            .await,
        "a printer.paused event names {detail}"
    );
    h.sim.with(fix);
    h.wait_for(&ids[1], "card.printed").await;
    assert!(h
        .central
        .seen
        .iter()
        .any(|e| e["type"] == "printer.resumed" && e["after"] == detail));
    h.wait_for(&ids[2], "card.printed").await;
    let h = h.stop().await;
    assert_eq!(h.sim.printed_count(), 3);
    assert_eq!(h.sim.with(|p| p.jobs_started()), 3, "no blank wasted");
    assert_eq!(register_of(&h).await, sorted(ids));
    assert_eq!(
        legitka::runtime::central::count(&h.central.seen, "card.spoiled"),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_feeder_pauses_the_queue_until_it_is_refilled() {
    // The last blank is picked while its card prints: "feeder empty" shows
    // up mid-card, and must not be taken for a fault of that card.
    let config = SimConfig {
        feeder_cards: 1,
        card_time: Duration::from_millis(400),
        ..SimConfig::default()
    };
    waiting_fault(config, "feeder_empty", |p| p.refill_feeder(50)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ribbon_that_ends_pauses_the_queue_until_it_is_replaced() {
    let config = SimConfig {
        ribbon_capacity: 1,
        ..SimConfig::default()
    };
    waiting_fault(config, "ribbon_ended", |p| p.replace_ribbon(200)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printer_unplugged_mid_card_is_found_again_and_the_card_waits_for_a_check() {
    let mut h = Harness::start().await;
    h.sim
        .with(|p| p.faults.unplug_card = Some((2, Duration::from_secs(3))));
    let ids = h.send_orders(0, 3).await;
    let held = h.wait_for(&ids[1], "order.held").await;
    assert_eq!(held["code"], "needs_check");
    // Back on the line: the station reconnects by itself and goes on.
    h.wait_for(&ids[2], "card.printed").await;
    let h = h.stop().await;
    assert_eq!(h.sim.printed_count(), 2);
    assert_eq!(
        register_of(&h).await,
        sorted(vec![ids[0].clone(), ids[2].clone()])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_noise_and_slow_replies_do_not_stop_printing() {
    let mut h = Harness::start().await;
    h.sim.with(|p| {
        p.faults.garbage_every = Some(3);
        p.faults.reply_delay = Duration::from_millis(30);
    });
    let ids = h.send_orders(0, 2).await;
    h.wait_for(&ids[0], "card.printed").await;
    h.wait_for(&ids[1], "card.printed").await;
    let h = h.stop().await;
    assert_eq!(h.sim.printed_count(), 2);
    let card = h.sim.with(|p| p.printed()[1].clone());
    assert!(
        card.black.count_set() > 5_000,
        "the card's text survived the noise"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_printer_that_resets_its_connection_is_found_again() {
    let sim = legitka_sim::SimHandle::new(legitka_sim::SimPrinter::new(SimConfig::default()));
    let listener = legitka_sim::TcpListenerLink::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (s2, st2) = (sim.clone(), stop.clone());
    std::thread::spawn(move || listener.run(s2, st2));
    sim.with(|p| p.faults.unplug_card = Some((2, Duration::from_secs(3))));
    let mut h = Harness::start_with_sim(sim, |s| s.printer.uri = format!("tcp://{addr}")).await;
    let ids = h.send_orders(0, 3).await;
    assert_eq!(
        h.wait_for(&ids[1], "order.held").await["code"],
        "needs_check"
    );
    h.wait_for(&ids[2], "card.printed").await;
    let h = h.stop().await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(h.sim.printed_count(), 2);
    assert_eq!(
        register_of(&h).await,
        sorted(vec![ids[0].clone(), ids[2].clone()])
    );
}
