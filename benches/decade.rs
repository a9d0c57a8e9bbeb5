//! The station's records on ten years of a school: what an operator waits
//! for (the next card chosen, the counts behind the state report, the
//! queue's batches, a search of the register, a year's register and a
//! batch's protocol as PDF, the whole register as CSV, the retention pass).
//!
//! The database is the decade example's: `bash benches/decade.sh` builds it
//! once (about 12 minutes) and runs this on a copy, with the web pages, the
//! printer's idle time and the daemon's memory measured beside it. Run
//! alone: `LEGITKA_DECADE_DB=path/to/legitka.db cargo bench --bench decade`
//! (it copies the file; without it, it says so and measures nothing).

use criterion::{criterion_group, criterion_main, Criterion};
use legitka::records::report::catalogue::{self, Report};
use legitka::records::store::{QueueMode, RegisterFilter, Store};
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let Some(src) = std::env::var_os("LEGITKA_DECADE_DB") else {
        eprintln!("LEGITKA_DECADE_DB is not set: run bash benches/decade.sh (it builds the decade database)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("legitka.db");
    std::fs::copy(&src, &db).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(async {
        Store::open(&db, "sp7-sekretariat")
            .await
            .unwrap()
            .with_mode(QueueMode::Batch)
    });
    let year = rt.block_on(async {
        let cards = store
            .register_entries(&RegisterFilter {
                limit: Some(1),
                ..Default::default()
            })
            .await
            .unwrap();
        cards[0].issued[..4].parse::<i32>().unwrap()
    });
    let batch = rt.block_on(async {
        store.batch_summaries(false, 2, 0).await.unwrap()[1]
            .id
            .clone()
    });
    let mut g = c.benchmark_group("decade");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("next_queued (5,000 waiting in a batch)", |b| {
        b.iter(|| rt.block_on(async { black_box(store.next_queued().await.unwrap().unwrap()) }))
    });
    g.bench_function("counts (the state report)", |b| {
        b.iter(|| rt.block_on(async { black_box(store.counts().await.unwrap()) }))
    });
    g.bench_function("live batches (Kolejka)", |b| {
        b.iter(|| {
            rt.block_on(async { black_box(store.batch_summaries(true, 100, 0).await.unwrap()) })
        })
    });
    g.bench_function("register search, one word (Rejestr)", |b| {
        let words = vec!["wiśniewska".to_string(), "99".to_string()];
        b.iter(|| {
            rt.block_on(async { black_box(store.register_search(&words, 200).await.unwrap()) })
        })
    });
    g.bench_function("blank stock (Pulpit, Druki)", |b| {
        b.iter(|| rt.block_on(async { black_box(store.blank_stock().await.unwrap()) }))
    });
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    let report = |which: Report, pdf: bool| {
        rt.block_on(async {
            let t = catalogue::build(&store, "12345", &which).await.unwrap();
            if pdf {
                legitka::records::report::pdf(&t, "30.11.2026").unwrap()
            } else {
                legitka::records::report::csv(&t)
            }
        })
    };
    g.bench_function(format!("register table --year {year} (no PDF)"), |b| {
        b.iter(|| {
            rt.block_on(async {
                black_box(
                    catalogue::build(&store, "12345", &Report::Register { year: Some(year) })
                        .await
                        .unwrap(),
                )
            })
        })
    });
    g.bench_function(format!("report register --year {year} (PDF)"), |b| {
        b.iter(|| black_box(report(Report::Register { year: Some(year) }, true)))
    });
    g.bench_function("report batch (PDF)", |b| {
        b.iter(|| {
            black_box(report(
                Report::Batch {
                    batch: batch.clone(),
                },
                true,
            ))
        })
    });
    g.bench_function("report register, every year (CSV)", |b| {
        b.iter(|| black_box(report(Report::Register { year: None }, false)))
    });
    // Last: the first pass deletes from this copy what is past the periods
    // (the decade's old audit lines and sent events; orders waiting longer
    // than 60 days). Timed once; then the hourly pass that finds nothing.
    let started = std::time::Instant::now();
    let first = rt.block_on(store.retention_pass(60, 24)).unwrap();
    eprintln!(
        "first retention pass on the decade: {first:?} in {:.2?}",
        started.elapsed()
    );
    g.bench_function("retention pass, hourly (nothing due)", |b| {
        b.iter(|| rt.block_on(async { black_box(store.retention_pass(60, 24).await.unwrap()) }))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
