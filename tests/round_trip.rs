//! An order through a real broker to a card printed by the simulator over a
//! pseudo-terminal, checked on the printed pixels.

mod common;

use common::Harness;
use image::imageops;
use legitka::records::store::Store;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_becomes_a_printed_card_with_the_photo_on_it() {
    let mut h = Harness::start().await;
    let order = legitka::card::sample::order(0);
    let id = order["order_id"].as_str().unwrap().to_string();
    h.central.send_order(&order).await;
    let accepted = h.wait_for(&id, "order.accepted").await;
    assert_eq!(accepted["card_number"], "1/2026");
    assert_eq!(accepted["station"], h.settings.station.as_str());
    let printed = h.wait_for(&id, "card.printed").await;
    assert_eq!(printed["printer_serial"], "SIM-000001");
    assert_eq!(printed["card_number"], "1/2026");
    assert!(h
        .sim
        .wait_until(Duration::from_secs(5), |p| p.printed().len() == 1));

    // The photo region of the printed card against the source photo,
    // cropped to 19:26 and scaled here independently of the renderer.
    let card = h.sim.with(|p| p.printed()[0].clone());
    let src = image::load_from_memory(legitka::card::sample::PHOTO_LARGE)
        .unwrap()
        .to_rgb8();
    // 570 x 780 is 19:26 already: only scaling is needed.
    let expected = imageops::resize(&src, 224, 307, imageops::FilterType::Triangle);
    // Photo box: 3.5 mm, 10.5 mm from the card corner + the card's offset.
    let (x0, y0) = (
        (3.5f32 * 300.0 / 25.4 + 2.5).round() as u32,
        (10.5f32 * 300.0 / 25.4 + 5.0).round() as u32,
    );
    let mut diff = 0u64;
    for (x, y, p) in expected.enumerate_pixels() {
        let q = card.image.get_pixel(x0 + x, y0 + y);
        for c in 0..3 {
            diff += u64::from(p.0[c].abs_diff(q.0[c]));
        }
    }
    let mean = diff as f64 / (224.0 * 307.0 * 3.0);
    assert!(
        mean < 6.0,
        "photo differs from its source by {mean:.2} on average"
    );
    // Outside the photo and the text there is no dye: the blank shows.
    assert_eq!(card.image.get_pixel(x0 - 10, y0 + 100).0, [255, 255, 255]);
    // The text went to the resin panel, not the colour panels.
    assert!(
        card.black.count_set() > 5_000,
        "text missing from the K panel"
    );
    assert_eq!(card.panels, vec!['c', 'k', 'm', 'o', 'y']);

    let h = h.stop().await;
    let store = Store::open(&h.db(), &h.settings.station).await.unwrap();
    let reg = store.register().await.unwrap();
    assert_eq!(reg.len(), 1);
    assert_eq!(reg[0].last_name, "Wiśniewska-Żółkiewska");
    assert_eq!(reg[0].printer_model, "Evolis Primacy 2 (simulated)");
    // Printed: the photo is no longer kept.
    let orders = store.orders().await.unwrap();
    assert_eq!(orders[0].status, "printed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retained_state_says_online_then_offline_after_a_clean_stop() {
    let mut h = Harness::start().await;
    let online = h
        .central
        .wait_state(Duration::from_secs(30), |s| {
            s["online"] == true && s["printer"]["state"] == "ready"
        })
        .await
        .expect("an online state with a ready printer");
    assert_eq!(online["printer"]["serial"], "SIM-000001");
    assert_eq!(online["queue"]["pending"], 0);
    let mut h = h.stop().await;
    let offline = h
        .central
        .wait_state(Duration::from_secs(10), |s| s["online"] == false)
        .await
        .expect("an offline state after stopping");
    assert_eq!(offline["station"], h.settings.station.as_str());
}
