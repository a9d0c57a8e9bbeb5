//! Rendering, measured: one card into its panels, the wire encoding of those
//! panels (`Dbc`, and `Db` for comparison), the whole way from a card's data
//! to its bytes, a 30-card class, and, in the same run, Ghostscript rasterising the
//! same card's PDF proof at 300 dpi (skipped when `gs` is not installed;
//! `benches/run.sh` installs it). The printer needs 16-24 s a card: rendering
//! must be a rounding error of that.

use criterion::{criterion_group, criterion_main, Criterion};
use legitka::card::message::{self, Inbound, TrustedKeys};
use legitka::card::order::ValidOrder;
use legitka::card::profile::Profiles;
use legitka::card::render::Renderer;
use legitka_drivers::evolis::wire::{self, Download};
use std::hint::black_box;
use std::process::Command;

fn order(r: &Renderer, i: usize) -> ValidOrder {
    let raw = legitka::card::sample::order(i).to_string();
    let Ok(Inbound::Order(m)) = message::parse(raw.as_bytes(), &TrustedKeys::default()) else {
        panic!("sample order parses")
    };
    legitka::runtime::ingest::check(&m, r, legitka::card::sample::SCHOOL_RSPO).unwrap()
}

fn bench(c: &mut Criterion) {
    let profiles = Profiles::builtin();
    let printer = profiles.printer("evolis-primacy-2").unwrap().clone();
    let r = Renderer::new(profiles, printer);
    let one = order(&r, 0);
    // What ingest does to every order before it is stored: parse, validate
    // (photo decoded and checked), lay out the text.
    let raw = legitka::card::sample::order_large(0)
        .to_string()
        .into_bytes();
    let checker = legitka::runtime::ingest::Checker {
        renderer: std::sync::Arc::new(Renderer::new(
            Profiles::builtin(),
            Profiles::builtin()
                .printer("evolis-primacy-2")
                .unwrap()
                .clone(),
        )),
        keys: TrustedKeys::default(),
        school: legitka::card::sample::SCHOOL_RSPO.into(),
    };
    c.bench_function("check_order", |b| {
        b.iter(|| {
            black_box(checker.check(&raw, legitka::runtime::ingest::Source::Orders));
        })
    });
    c.bench_function("render_card", |b| {
        b.iter(|| black_box(r.render(&one.data, &one.photo).unwrap()))
    });
    let card = r.render(&one.data, &one.photo).unwrap();
    let bytes = |how| {
        wire::encode_panels(&card.panels, "YMCKO", 128, how)
            .iter()
            .map(Vec::len)
            .sum::<usize>()
    };
    eprintln!(
        "one YMCKO card on the wire: {} bytes as Dbc, {} as Db",
        bytes(Download::Compressed),
        bytes(Download::Raw)
    );
    // What the driver does to a rendered card: separate the colour panels
    // and encode all five for the wire, compressed as the station sends
    // them; and uncompressed for comparison.
    c.bench_function("encode_panels_ymcko", |b| {
        b.iter(|| black_box(bytes(Download::Compressed)))
    });
    c.bench_function("encode_panels_ymcko_raw", |b| {
        b.iter(|| black_box(bytes(Download::Raw)))
    });
    // A card from its order's data to the bytes the printer receives.
    c.bench_function("render_separate_encode_card", |b| {
        b.iter(|| {
            let card = r.render(&one.data, &one.photo).unwrap();
            black_box(wire::encode_panels(
                &card.panels,
                "YMCKO",
                128,
                Download::Compressed,
            ))
        })
    });
    let class: Vec<ValidOrder> = (0..30).map(|i| order(&r, i)).collect();
    let mut group = c.benchmark_group("batch");
    group.sample_size(10);
    group.bench_function("render_batch_30", |b| {
        b.iter(|| {
            for o in &class {
                black_box(r.render(&o.data, &o.photo).unwrap());
            }
        })
    });
    group.finish();

    let has_gs = Command::new("gs")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if has_gs {
        let dir = tempfile::tempdir().unwrap();
        let pdf = dir.path().join("proof.pdf");
        std::fs::write(&pdf, r.proof_pdf(&card, "bench").unwrap()).unwrap();
        let mut group = c.benchmark_group("ghostscript");
        group.sample_size(10);
        group.bench_function("gs_rasterise_card_300dpi", |b| {
            b.iter(|| {
                let out = Command::new("gs")
                    .args([
                        "-q",
                        "-dNOPAUSE",
                        "-dBATCH",
                        "-dSAFER",
                        "-sDEVICE=ppmraw",
                        "-r300",
                        "-sOutputFile=/dev/null",
                    ])
                    .arg(&pdf)
                    .output()
                    .unwrap();
                assert!(out.status.success());
            })
        });
        group.finish();
    } else {
        eprintln!("gs not installed: Ghostscript comparison skipped (benches/run.sh installs it)");
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
