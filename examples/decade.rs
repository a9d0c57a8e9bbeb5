//! Ten years of a large school, as a station's database: what the register
//! holds when it has been in use for a decade, to measure the station on.
//!
//!     cargo run --release --example decade -- --out DIR [--years 10]
//!
//! Built through the store's own functions, as the station and its
//! operators would have: every year a delivery of blanks and of holograms,
//! a September of batches of ~28 cards (a jam now and then, the blank
//! spoiled and the card printed again), duplicates and returned cards,
//! the year's holograms on a pile of current cards, logins in the audit
//! log; photos and PESELs purged as cards print. Then one running batch of
//! 5,000 waiting orders, with their photos. Prints the file's size.
//!
//! The day each year's rules are read on is that year's (`Store::on_day`);
//! commits are not flushed (`Durability::Bulk`): it is a fixture, not a
//! station.

use anyhow::Context;
use clap::Parser;
use legitka::card::order::{Reason, ValidOrder};
use legitka::records::actor::{Actor, Via};
use legitka::records::event::PrintedFields;
use legitka::records::hologram::SchoolYear;
use legitka::records::store::{BatchRequest, CardRef, Durability, Offer, QueueMode, Start, Store};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// Where the station's database goes (DIR/legitka.db).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 10)]
    years: u32,
    /// Cards issued over all the years.
    #[arg(long, default_value_t = 100_000)]
    cards: u32,
    /// Orders left waiting in one running batch at the end.
    #[arg(long, default_value_t = 5_000)]
    waiting: u32,
    /// Audit log lines in all (logins fill what the changes leave).
    #[arg(long, default_value_t = 200_000)]
    audit: u32,
}

/// A sample order checked as ingest checks it: the template each order is
/// cut from (its photo is the small sample, as most parents' are).
fn template(i: usize, photo: &[u8]) -> ValidOrder {
    use base64::Engine;
    use sha2::Digest;
    let mut o = legitka::card::sample::order(i);
    o["photo"]["data"] = base64::engine::general_purpose::STANDARD
        .encode(photo)
        .into();
    o["photo"]["sha256"] = hex::encode(sha2::Sha256::digest(photo)).into();
    let raw = o.to_string();
    let legitka::card::message::Inbound::Order(m) =
        legitka::card::message::parse(raw.as_bytes(), &Default::default()).expect("sample parses")
    else {
        unreachable!("a card.order")
    };
    legitka::runtime::ingest::check(
        &m,
        &legitka::card::sample::renderer(),
        legitka::card::sample::SCHOOL_RSPO,
    )
    .expect("the sample is valid")
}

struct School {
    store: Store,
    base: ValidOrder,
    anna: Actor,
    next: u64,
}

impl School {
    /// An order for pupil `pupil`, issued on `issued`, with card number `number`.
    fn order(
        &mut self,
        pupil: u32,
        number: &str,
        issued: chrono::NaiveDate,
        reason: Reason,
    ) -> ValidOrder {
        self.next += 1;
        let mut o = self.base.clone();
        let d = &mut o.data;
        d.order_id = uuid::Uuid::new_v4().to_string();
        d.card_number = number.to_string();
        d.student_id = format!("S-{pupil:06}");
        d.last_name = format!("{} {pupil}", d.last_name);
        d.class = Some(format!(
            "{}{}",
            1 + pupil % 8,
            ["a", "b", "c", "d"][(pupil / 8 % 4) as usize]
        ));
        d.issue_date = issued;
        d.reason = reason;
        o.content_sha256 = format!("{:064x}", self.next);
        o
    }

    /// Offers the orders as ingest's group commits do; the accepted ones.
    async fn offer_all(&self, orders: Vec<ValidOrder>) -> anyhow::Result<Vec<ValidOrder>> {
        let mut accepted = Vec::new();
        for chunk in orders.chunks(1000) {
            let mut tx = self.store.begin().await?;
            for o in chunk {
                if self.store.offer_in(&mut tx, o).await? == Offer::Accepted {
                    accepted.push(o.clone());
                }
            }
            tx.commit().await?;
        }
        Ok(accepted)
    }

    /// What the queue does for a card: started on its reserved blank, then
    /// printed.
    async fn print(&self, o: &ValidOrder) -> anyhow::Result<()> {
        let id = &o.data.order_id;
        let fields = PrintedFields {
            card_number: o.data.card_number.clone(),
            printer_model: "Evolis Primacy 2".into(),
            printer_serial: "PR2-0042".into(),
            batch_id: None,
            operator: Some("auto".into()),
            blank_pattern: None,
            blank_serial: None,
        };
        let started = self
            .store
            .mark_printing(id, "Evolis Primacy 2", "PR2-0042")
            .await?;
        anyhow::ensure!(started == Start::Started, "{id}: {started:?}");
        self.store.mark_printed(id, &fields).await?;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let started = Instant::now();
    std::fs::create_dir_all(&a.out)?;
    let db = a.out.join("legitka.db");
    anyhow::ensure!(!db.exists(), "{} exists: give an empty --out", db.display());
    let store = Store::open_with(&db, "sp7-sekretariat", Durability::Bulk)
        .await?
        .with_mode(QueueMode::Batch);
    let renderer = legitka::card::sample::renderer();
    let pattern = renderer
        .known_pattern("MEiN-I/1")
        .map_err(anyhow::Error::msg)?;
    let small = legitka::card::sample::PHOTO_EXACT;
    let mut school = School {
        store: store.clone(),
        base: template(0, small),
        anna: Actor {
            login: "anna".into(),
            name: "Anna Kowalska (anna)".into(),
            via: Via::Web,
        },
        next: 0,
    };
    let hash = legitka::records::account::hash_password("Zażółć-gęślą-2025");
    for (login, name, role) in [
        (
            "anna",
            "Anna Kowalska",
            legitka::records::account::Role::Operator,
        ),
        (
            "bogdan",
            "Bogdan Nowak",
            legitka::records::account::Role::Operator,
        ),
        (
            "adam",
            "Adam Dyrektor",
            legitka::records::account::Role::Admin,
        ),
        (
            "ewa",
            "Ewa Audytor",
            legitka::records::account::Role::Auditor,
        ),
    ] {
        school
            .store
            .add_user(login, name, role, &hash, &Actor::named("cli", Via::Cli))
            .await?;
    }

    let this_year = SchoolYear::current();
    let first_year = this_year.days().0.year_ce().1 as i32 - a.years as i32 + 1;
    let per_year = a.cards / a.years;
    let mut serial = 1u32; // the next blank serial delivered
    let mut hologram = 1u32;
    let mut card_no = 0u32;
    let mut issued_to: Vec<(u32, String)> = Vec::new(); // (pupil, number) of cards issued
    for y in 0..a.years {
        let first = first_year + y as i32;
        let year: SchoolYear = format!("{first}/{}", first + 1).parse()?;
        let september = chrono::NaiveDate::from_ymd_opt(first, 9, 10).unwrap();
        school.store = store.clone().on_day(september);
        // Blanks for the year, in deliveries of a thousand.
        let blanks = per_year + per_year / 5;
        for _ in 0..blanks.div_ceil(1000) {
            school
                .store
                .receive_blanks(&pattern, &format!("{serial:06}"), 1000, false, &school.anna)
                .await?;
            serial += 1000;
        }
        school
            .store
            .receive_holograms(year, &format!("H{hologram:07}"), 4000, false, &school.anna)
            .await?;
        // The year's cards: mostly new, some duplicates of issued cards.
        let mut orders = Vec::new();
        for i in 0..per_year {
            // A duplicate of a card of an earlier year, now and then.
            let duplicate = i % 33 == 32 && !issued_to.is_empty();
            let o = if duplicate {
                let (pupil, number) = issued_to[(i as usize * 7919) % issued_to.len()].clone();
                school.order(pupil, &number, september, Reason::Duplicate)
            } else {
                card_no += 1;
                school.order(
                    card_no,
                    &format!("{card_no}/{first}"),
                    september,
                    Reason::New,
                )
            };
            orders.push(o);
        }
        let orders = school.offer_all(orders).await?;
        // Batches of ~28 cards, each on the stack in the feeder.
        let mut printed = 0usize;
        while printed < orders.len() {
            let chunk = &orders[printed..(printed + 28).min(orders.len())];
            let start = school
                .store
                .loaded_blanks("MEiN-I/1")
                .await?
                .into_iter()
                .find(|(_, o)| o.is_none())
                .map(|(s, _)| s);
            let first_blank = match start {
                Some(s) => s,
                None => school
                    .store
                    .blanks_in_stock("MEiN-I/1", 1)
                    .await?
                    .pop()
                    .context("blanks run out")?,
            };
            school
                .store
                .start_batch(
                    &BatchRequest {
                        first_blank,
                        orders: chunk.iter().map(|o| o.data.order_id.clone()).collect(),
                        ..Default::default()
                    },
                    &school.anna,
                )
                .await?;
            for (k, o) in chunk.iter().enumerate() {
                if (printed + k) % 61 == 60 {
                    // A jam: the spoiled blank leaves the batch one short,
                    // and the operator puts the next one in.
                    school.print_with_top_up(o).await?;
                } else {
                    school.print(o).await?;
                }
                if o.data.reason == Reason::New {
                    issued_to.push((o.data.student_id[2..].parse()?, o.data.card_number.clone()));
                }
            }
            printed += chunk.len();
        }
        // Holograms: the year's pile of 4,000 current cards (the newest).
        let pile: Vec<CardRef> = current_cards(&school.store, 4000)
            .await?
            .into_iter()
            .map(CardRef::Row)
            .collect();
        let applied = school
            .store
            .apply_pile(&pile, year, &format!("H{hologram:07}"), &school.anna, false)
            .await?;
        hologram += 4000;
        // A few cards handed back, a few blanks destroyed.
        for id in current_cards(&school.store, per_year / 100).await? {
            school
                .store
                .return_card(&CardRef::Row(id), "uczeń opuścił szkołę", &school.anna)
                .await?;
        }
        for s in school.store.blanks_in_stock("MEiN-I/1", 5).await? {
            school
                .store
                .dispose_blank(
                    "MEiN-I/1",
                    &s,
                    "destroyed",
                    "uszkodzony w paczce",
                    &school.anna,
                )
                .await?;
        }
        eprintln!(
            "{year}: {} cards, {} holograms, {:.0?} so far",
            orders.len(),
            applied.len(),
            started.elapsed()
        );
    }

    // Logins and downloads fill the audit log to its size.
    let have = school.store.audit_entries(None, i64::MAX).await?.len() as u32;
    for i in have..a.audit {
        let who = ["anna", "bogdan", "adam", "ewa"][(i % 4) as usize];
        school
            .store
            .audit(who, "web", "login", None, Some("192.0.2.10"))
            .await?;
    }

    // September again: a school's orders waiting in one running batch.
    let september =
        chrono::NaiveDate::from_ymd_opt(this_year.days().0.year_ce().1 as i32, 9, 10).unwrap();
    school.store = store.clone().on_day(september);
    school.base = template(0, legitka::card::sample::PHOTO_LARGE);
    let mut waiting = Vec::new();
    for _ in 0..a.waiting {
        card_no += 1;
        waiting.push(school.order(card_no, &format!("{card_no}/new"), september, Reason::New));
    }
    school.offer_all(waiting).await?;
    school
        .store
        .receive_blanks(
            &pattern,
            &format!("{serial:06}"),
            a.waiting + 500,
            true,
            &school.anna,
        )
        .await?;
    school
        .store
        .start_batch(
            &BatchRequest {
                first_blank: format!("{serial:06}"),
                ..Default::default()
            },
            &school.anna,
        )
        .await?;
    // A station of ten years has told the central system all of it: the
    // outbox is delivered as the broker link delivers it. (Left unsent, a
    // daemon started on this file spends its first minutes publishing
    // 200,000 events, and every figure measured then is that backlog's.)
    loop {
        let ids: Vec<i64> = school
            .store
            .unsent(5000)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        if ids.is_empty() {
            break;
        }
        school.store.mark_sent(&ids).await?;
    }
    school.store.checkpoint().await?;
    drop(school);
    drop(store);
    let size = std::fs::metadata(&db)?.len();
    println!(
        "{}: {:.1} MB, {} years, {} cards waiting, built in {:.0?}",
        db.display(),
        size as f64 / 1e6,
        a.years,
        a.waiting,
        started.elapsed()
    );
    Ok(())
}

use chrono::Datelike;

impl School {
    /// A card that jams: its blank spoiled, the card printed again on the
    /// next blank, which the operator puts in behind the batch's stack.
    async fn print_with_top_up(&self, o: &ValidOrder) -> anyhow::Result<()> {
        let id = &o.data.order_id;
        self.store
            .mark_printing(id, "Evolis Primacy 2", "PR2-0042")
            .await?;
        self.store.spoil_and_requeue(id, "card_jam", "jam").await?;
        let loaded = self.store.loaded_blanks("MEiN-I/1").await?;
        let last = loaded.last().map(|(s, _)| s.clone());
        let next = match last {
            Some(s) => legitka::records::serial::range(&s, 2)?.remove(1),
            None => self
                .store
                .blanks_in_stock("MEiN-I/1", 1)
                .await?
                .pop()
                .context("blanks run out")?,
        };
        self.store
            .load_blanks("MEiN-I/1", &next, 1, &self.anna)
            .await?;
        self.print(o).await
    }
}

/// The register rows of the newest `n` cards still current (not
/// superseded by a later card of the pupil, not handed back).
async fn current_cards(store: &Store, n: u32) -> anyhow::Result<Vec<i64>> {
    Ok(store
        .register_lines()
        .await?
        .iter()
        .rev()
        .filter(|l| !l.superseded && l.returned.is_none())
        .take(n as usize)
        .map(|l| l.id)
        .collect())
}
