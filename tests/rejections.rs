//! Every rejection code of the contract, each triggered by a real bad
//! message through the broker; after each, the station still prints the next
//! good order.

mod common;

use base64::Engine;
use common::Harness;
use ed25519_dalek::{Signer, SigningKey};
use legitka::card::sample::{self, photo_json};
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

fn png_photo() -> Vec<u8> {
    let mut b = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(300, 400, image::Rgb([200, 10, 10]))
        .write_to(&mut b, image::ImageFormat::Png)
        .unwrap();
    b.into_inner()
}

fn over_5_mb() -> Vec<u8> {
    let mut big = sample::PHOTO_EXACT.to_vec();
    big.resize(5_200_000, 0);
    big
}

/// One bad order each: how the sample is spoiled, the code, the field.
type Case = (fn(&mut Value), &'static str, &'static str);

const CASES: &[Case] = &[
    (
        |o| {
            o["student"].as_object_mut().unwrap().remove("last_name");
        },
        "schema",
        "student",
    ),
    (
        |o| o["pattern"] = json!("MEiN-X/9"),
        "pattern_unknown",
        "pattern",
    ),
    (
        |o| {
            let p = o["student"]["pesel"].as_str().unwrap().to_string();
            let last = (p.as_bytes()[10] - b'0' + 1) % 10;
            o["student"]["pesel"] = json!(format!("{}{}", &p[..10], last));
        },
        "pesel_invalid",
        "student.pesel",
    ),
    (
        |o| o["student"]["birth_date"] = json!("2011-02-03"),
        "pesel_invalid",
        "student.pesel",
    ),
    (
        |o| o["photo"]["sha256"] = json!("00".repeat(32)),
        "photo_checksum",
        "photo.sha256",
    ),
    (
        |o| o["photo"] = photo_json(&png_photo()),
        "photo_format",
        "photo",
    ),
    (
        |o| o["photo"] = photo_json(sample::PHOTO_SMALL),
        "photo_too_small",
        "photo",
    ),
    (
        |o| o["photo"] = photo_json(&jpeg_claiming_50_megapixels()),
        "photo_too_large",
        "photo",
    ),
    (
        |o| o["photo"] = photo_json(&over_5_mb()),
        "photo_too_large",
        "photo",
    ),
    (
        |o| o["photo"] = photo_json(sample::PHOTO_GREY),
        "photo_not_colour",
        "photo",
    ),
    (
        |o| {
            o["student"]["first_names"] = json!(
                "Konstantyna Maksymiliana Bartłomieja Świętosława Przemysława Żelisława Bożydara"
            )
        },
        "text_overflow",
        "student.first_names",
    ),
];

async fn reject_order(h: &mut Harness, o: &Value, code: &str, field: &str) {
    expect_rejected(
        h,
        o.to_string().into_bytes(),
        Some(&id_of(o)),
        code,
        Some(field),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_order_is_rejected_with_its_code_and_the_next_good_one_prints() {
    let mut h = Harness::start().await;
    expect_rejected(&mut h, b"{ not json".to_vec(), None, "schema", None).await;
    good_order_still_prints(&mut h, 1).await;
    let mut printed = 1;
    for (i, (spoil, code, field)) in CASES.iter().enumerate() {
        let mut o = sample::order(100 + i);
        spoil(&mut o);
        reject_order(&mut h, &o, code, field).await;
        // After every other rejection, a good order proves the station goes on.
        if i % 2 == 1 {
            printed += 1;
            good_order_still_prints(&mut h, printed).await;
        }
    }

    // The same id with other content: the first order stands.
    let first = sample::order(200);
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
    let mut o = sample::order(201);
    o["card"]["number"] = first["card"]["number"].clone();
    reject_order(&mut h, &o, "conflict", "card.number").await;
    good_order_still_prints(&mut h, printed + 1).await;

    let h = h.stop().await;
    assert_eq!(
        h.sim.printed_count(),
        printed + 2,
        "good orders printed, bad ones not"
    );
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
