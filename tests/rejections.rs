//! Every rejection code of the contract, each triggered by a real bad
//! message through the broker; after each, the station still prints the next
//! good order.

mod common;

use base64::Engine;
use common::Harness;
use ed25519_dalek::{Signer, SigningKey};
use legitka::sample::{self, photo_json};
use serde_json::{json, Value};
use std::time::Duration;

fn id_of(o: &Value) -> String {
    o["order_id"].as_str().unwrap().to_string()
}

/// A JPEG whose header claims 10000 x 5000 pixels: refused before decoding.
fn jpeg_claiming_50_megapixels() -> Vec<u8> {
    let mut j = sample::PHOTO_EXACT.to_vec();
    let sof = j
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline JPEG");
    j[sof + 5..sof + 7].copy_from_slice(&5000u16.to_be_bytes());
    j[sof + 7..sof + 9].copy_from_slice(&10000u16.to_be_bytes());
    j
}

async fn expect_rejected(
    h: &mut Harness,
    payload: Vec<u8>,
    id: Option<&str>,
    code: &str,
    field: Option<&str>,
) {
    let before = h.central.seen.len();
    h.central
        .publish(&h.central.topics.orders.clone(), payload)
        .await;
    let ok = h
        .central
        .wait_events(Duration::from_secs(60), |ev| {
            ev[before..].iter().any(|e| e["type"] == "order.rejected")
        })
        .await;
    assert!(ok, "no rejection for {code}");
    let e = h.central.seen[before..]
        .iter()
        .find(|e| e["type"] == "order.rejected")
        .unwrap();
    assert_eq!(e["code"], code, "{e}");
    assert!(!e["message"].as_str().unwrap().is_empty());
    if let Some(id) = id {
        assert_eq!(e["order_id"], id);
    }
    if let Some(f) = field {
        assert!(
            e["field"].as_str().unwrap_or("").starts_with(f),
            "field of {e}"
        );
    }
}

async fn good_order_still_prints(h: &mut Harness, i: usize) {
    let o = sample::order(i);
    h.central.send_order(&o).await;
    h.wait_for(&id_of(&o), "card.printed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_order_is_rejected_with_its_code_and_the_next_good_one_prints() {
    let mut h = Harness::start().await;
    let mut n = 100;
    let mut next = || {
        n += 1;
        sample::order(n)
    };

    expect_rejected(&mut h, b"{ not json".to_vec(), None, "schema", None).await;
    good_order_still_prints(&mut h, 1).await;

    let mut o = next();
    o["student"].as_object_mut().unwrap().remove("last_name");
    expect_rejected(
        &mut h,
        o.to_string().into_bytes(),
        Some(&id_of(&o)),
        "schema",
        Some("student"),
    )
    .await;

    let mut o = next();
    o["pattern"] = json!("MEiN-X/9");
    expect_rejected(
        &mut h,
        o.to_string().into_bytes(),
        Some(&id_of(&o)),
        "pattern_unknown",
        Some("pattern"),
    )
    .await;
    good_order_still_prints(&mut h, 2).await;

    let mut o = next();
    let p = o["student"]["pesel"].as_str().unwrap().to_string();
    let last = (p.as_bytes()[10] - b'0' + 1) % 10;
    o["student"]["pesel"] = json!(format!("{}{}", &p[..10], last));
    expect_rejected(
        &mut h,
        o.to_string().into_bytes(),
        Some(&id_of(&o)),
        "pesel_invalid",
        Some("student.pesel"),
    )
    .await;

    let mut o = next();
    o["student"]["birth_date"] = json!("2011-02-03");
    expect_rejected(
        &mut h,
        o.to_string().into_bytes(),
        Some(&id_of(&o)),
        "pesel_invalid",
        Some("student.pesel"),
    )
    .await;
    good_order_still_prints(&mut h, 3).await;

    let mut o = next();
    o["photo"]["sha256"] = json!("00".repeat(32));
    expect_rejected(
        &mut h,
        o.to_string().into_bytes(),
        Some(&id_of(&o)),
        "photo_checksum",
        Some("photo.sha256"),
    )
    .await;

    let mut o = next();
    let png = {
        let mut b = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_pixel(300, 400, image::Rgb([200, 10, 10]))
            .write_to(&mut b, image::ImageFormat::Png)
            .unwrap();
        b.into_inner()
    };
    o["photo"] = photo_json(&png);
    expect_rejected(
        &mut h,
        o.to_string().into_bytes(),
        Some(&id_of(&o)),
        "photo_format",
        Some("photo"),
    )
    .await;
    good_order_still_prints(&mut h, 4).await;

    let mut o = next();
    o["photo"] = photo_json(sample::PHOTO_SMALL);
    expect_rejected(
        &mut h,
        o.to_string().into_bytes(),
        Some(&id_of(&o)),
        "photo_too_small",
        Some("photo"),
    )
    .await;

    let mut o = next();
    o["photo"] = photo_json(&jpeg_claiming_50_megapixels());
    expect_rejected(
        &mut h,
        o.to_string().into_bytes(),
        Some(&id_of(&o)),
        "photo_too_large",
        Some("photo"),
    )
    .await;

    let mut o = next();
    let mut big = sample::PHOTO_EXACT.to_vec();
    big.resize(5_200_000, 0);
    o["photo"] = photo_json(&big);
    expect_rejected(
        &mut h,
        o.to_string().into_bytes(),
        Some(&id_of(&o)),
        "photo_too_large",
        Some("photo"),
    )
    .await;
    good_order_still_prints(&mut h, 5).await;

    let mut o = next();
    o["photo"] = photo_json(sample::PHOTO_GREY);
    expect_rejected(
        &mut h,
        o.to_string().into_bytes(),
        Some(&id_of(&o)),
        "photo_not_colour",
        Some("photo"),
    )
    .await;

    let mut o = next();
    o["student"]["first_names"] =
        json!("Konstantyna Maksymiliana Bartłomieja Świętosława Przemysława Żelisława Bożydara");
    expect_rejected(
        &mut h,
        o.to_string().into_bytes(),
        Some(&id_of(&o)),
        "text_overflow",
        Some("student.first_names"),
    )
    .await;
    good_order_still_prints(&mut h, 6).await;

    // The same id with other content: the first order stands.
    let first = next();
    h.central.send_order(&first).await;
    h.wait_for(&id_of(&first), "card.printed").await;
    let mut changed = first.clone();
    changed["student"]["first_names"] = json!("Inna");
    expect_rejected(
        &mut h,
        changed.to_string().into_bytes(),
        Some(&id_of(&first)),
        "conflict",
        Some("order_id"),
    )
    .await;

    // Another order for a card number already issued.
    let mut o = next();
    o["card"]["number"] = first["card"]["number"].clone();
    expect_rejected(
        &mut h,
        o.to_string().into_bytes(),
        Some(&id_of(&o)),
        "conflict",
        Some("card.number"),
    )
    .await;
    good_order_still_prints(&mut h, 7).await;

    // Nine rejected, eight printed, nothing else.
    let h = h.stop().await;
    assert_eq!(h.sim.printed_count(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_central_keys_only_correctly_signed_orders_print() {
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let b64 = base64::engine::general_purpose::STANDARD;
    let public = b64.encode(key.verifying_key().to_bytes());
    let mut h = Harness::start_with(|s| {
        s.central_keys.insert("central-2026".into(), public.clone());
    })
    .await;
    let sign = |o: &Value, k: &SigningKey, key_id: &str| {
        let inner = o.to_string().into_bytes();
        json!({ "key_id": key_id, "payload": b64.encode(&inner), "sig": b64.encode(k.sign(&inner).to_bytes()) })
            .to_string()
            .into_bytes()
    };
    let unsigned = sample::order(1);
    expect_rejected(
        &mut h,
        unsigned.to_string().into_bytes(),
        None,
        "signature_invalid",
        None,
    )
    .await;
    let forged = sample::order(2);
    let other = SigningKey::from_bytes(&[9u8; 32]);
    expect_rejected(
        &mut h,
        sign(&forged, &other, "central-2026"),
        None,
        "signature_invalid",
        None,
    )
    .await;
    expect_rejected(
        &mut h,
        sign(&forged, &key, "central-1999"),
        None,
        "signature_invalid",
        None,
    )
    .await;
    let good = sample::order(3);
    h.central
        .publish(
            &h.central.topics.orders.clone(),
            sign(&good, &key, "central-2026"),
        )
        .await;
    h.wait_for(&id_of(&good), "card.printed").await;
    let h = h.stop().await;
    assert_eq!(h.sim.printed_count(), 1);
}
