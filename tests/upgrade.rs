//! Installing the next version over a station with years of data migrates
//! its register in place. A database made with only the first ten
//! migrations (the station before numbered blanks were checked, issue dates
//! and patterns recorded on the card, or the register searchable) and
//! filled as that station wrote it, opened by today's station: every card,
//! serial, hologram and waiting order is found, and what the new columns
//! hold was filled in from what the old ones said.

mod common;

use legitka::records::store::{QueueMode, RegisterFilter, Store};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::str::FromStr;

/// The migrations a station of that time had, as they were (a migration
/// on main never changes: `.ci/migrations`).
const OLD: i64 = 10;
const CARDS: usize = 300;

#[tokio::test]
async fn a_register_made_by_an_early_station_is_kept_whole_by_todays() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("migrations");
    std::fs::create_dir(&old).unwrap();
    let mut copied = 0;
    for e in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        let version: i64 = name[..4].parse().unwrap();
        if version <= OLD {
            std::fs::copy(&p, old.join(&name)).unwrap();
            copied += 1;
        }
    }
    assert_eq!(copied, OLD);
    let db = dir.path().join("legitka.db");
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))
                .unwrap()
                .create_if_missing(true),
        )
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();

    // What the early station wrote: a delivery of blanks, 300 cards printed
    // on them in turn, a year's holograms on the first 100, one card
    // waiting with its photo.
    let t = "2025-09-01T08:00:00.000Z";
    sqlx::query("INSERT INTO blank_deliveries (id, pattern, first, count, operator, received_at) VALUES (1, 'MEiN-I/1', '000001', 400, 'anna', ?)")
        .bind(t)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO hologram_deliveries (id, school_year, first, count, operator, received_at) VALUES (1, '2025/2026', 'H0001', 200, 'anna', ?)")
        .bind(t)
        .execute(&pool)
        .await
        .unwrap();
    let mut expected = Vec::new();
    for i in 0..=CARDS {
        let o = common::records::valid_with(i, |v| {
            v["card"]["number"] = format!("{}/2025", i + 1).into();
            v["card"]["issue_date"] = "2025-09-01".into();
        });
        let d = &o.data;
        let printed = i < CARDS;
        let serial = format!("{:06}", i + 1);
        sqlx::query(
            "INSERT INTO orders (order_id, content_sha256, card_number, student_id, reason, pattern,
                                 data, photo, status, received_at, updated_at, photo_accepted_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&d.order_id)
        .bind(&o.content_sha256)
        .bind(&d.card_number)
        .bind(&d.student_id)
        .bind(d.reason.as_str())
        .bind(&d.pattern)
        .bind(serde_json::to_string(d).unwrap())
        // A printed card's photo was purged.
        .bind((!printed).then(|| o.photo.jpeg()))
        .bind(if printed { "printed" } else { "queued" })
        .bind(t)
        .bind(t)
        .bind(t)
        .execute(&pool)
        .await
        .unwrap();
        if printed {
            let id = sqlx::query(
                "INSERT INTO cards (card_number, order_id, student_id, last_name, first_names, reason,
                                    printed_at, printer_model, printer_serial, operator, blank_serial, class)
                 VALUES (?, ?, ?, ?, ?, 'new', ?, 'Evolis Primacy 2', 'P2-01', 'anna', ?, ?)",
            )
            .bind(&d.card_number)
            .bind(&d.order_id)
            .bind(&d.student_id)
            .bind(&d.last_name)
            .bind(&d.first_names)
            .bind(t)
            .bind(&serial)
            .bind(&d.class)
            .execute(&pool)
            .await
            .unwrap()
            .last_insert_rowid();
            if i < 100 {
                sqlx::query(
                    "INSERT INTO holograms (serial, school_year, delivery_id, status, card_id, card_number, slot, applied_at, applied_by)
                     VALUES (?, '2025/2026', 1, 'applied', ?, ?, 1, ?, 'anna')",
                )
                .bind(format!("H{:04}", i + 1))
                .bind(id)
                .bind(&d.card_number)
                .bind(t)
                .execute(&pool)
                .await
                .unwrap();
            }
            expected.push((d.card_number.clone(), serial.clone(), d.last_name.clone()));
        }
        sqlx::query(
            "INSERT INTO blanks (pattern, serial, delivery_id, status, order_id, used_at, load_seq, loaded_by)
             VALUES ('MEiN-I/1', ?, 1, ?, ?, ?, ?, ?)",
        )
        .bind(&serial)
        // The next blank is in the printer, for the card that waits.
        .bind(if printed { "printed" } else { "loaded" })
        .bind(printed.then_some(&d.order_id))
        .bind(printed.then_some(t))
        .bind((!printed).then_some(1))
        .bind((!printed).then_some("anna"))
        .execute(&pool)
        .await
        .unwrap();
    }
    for i in CARDS + 1..400 {
        sqlx::query("INSERT INTO blanks (pattern, serial, delivery_id, status) VALUES ('MEiN-I/1', ?, 1, 'stock')")
            .bind(format!("{:06}", i + 1))
            .execute(&pool)
            .await
            .unwrap();
    }
    for i in 100..200 {
        sqlx::query("INSERT INTO holograms (serial, school_year, delivery_id, status) VALUES (?, '2025/2026', 1, 'stock')")
            .bind(format!("H{:04}", i + 1))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;

    // Today's station opens it: migrated in place.
    let store = Store::open(&db, "s1")
        .await
        .unwrap()
        .with_mode(QueueMode::Auto);
    assert_eq!(
        legitka::records::store::schema_version_of(&db)
            .await
            .unwrap(),
        legitka::records::store::schema_version()
    );
    let problems = store.check().await.unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let reg = store
        .register_entries(&RegisterFilter::default())
        .await
        .unwrap();
    assert_eq!(reg.len(), CARDS, "every card");
    let mut found: Vec<(String, String, String)> = reg
        .iter()
        .map(|e| {
            (
                e.card_number.clone(),
                e.blank_serial.clone().unwrap_or_default(),
                e.last_name.clone(),
            )
        })
        .collect();
    found.sort();
    expected.sort();
    assert_eq!(found, expected, "every card on its serial");
    for e in &reg {
        assert_eq!(e.issued, "2025-09-01", "issue date filled");
        assert_eq!(
            e.blank_pattern.as_deref(),
            Some("MEiN-I/1"),
            "blank pattern filled"
        );
        assert!(e.birth_date.is_some(), "birth date filled");
    }
    // Holograms: the first 100 cards carry theirs; the stock is whole.
    let with_hologram = reg.iter().filter(|e| !e.holograms.is_empty()).count();
    assert_eq!(with_hologram, 100);
    let stock = store.hologram_stock().await.unwrap();
    assert_eq!(stock[0].in_stock, 100);
    assert_eq!(stock[0].applied, 100);
    // The register is searchable, Polish letters and all.
    let first = &expected[0];
    let (_, _, hits) = store
        .register_search(&[first.2.to_lowercase()], 50)
        .await
        .unwrap();
    assert!(
        hits.iter().any(|h| h.card_number == first.0),
        "search finds {}",
        first.2
    );
    // The card that was waiting prints, with its photo.
    let next = store
        .next_queued()
        .await
        .unwrap()
        .expect("the waiting card");
    assert_eq!(next.data.card_number, format!("{}/2025", CARDS + 1));
    // Blanks add up.
    let b = &store.blank_stock().await.unwrap()[0];
    assert_eq!(
        (b.received, b.printed, b.loaded, b.in_stock),
        (400, CARDS as i64, 1, 99)
    );
}
