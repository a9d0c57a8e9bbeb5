//! How long one card takes to render into its panels, and to encode them
//! for the wire. The printer needs 16-24 s a card: rendering must be a
//! rounding error of that.

use criterion::{criterion_group, criterion_main, Criterion};
use legitka::message::{self, Inbound, TrustedKeys};
use legitka::profile::Profiles;
use legitka::render::Renderer;
use legitka_drivers::evolis::wire;
use legitka_drivers::PanelKind;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let profiles = Profiles::builtin();
    let printer = profiles.printer("evolis-primacy-2").unwrap().clone();
    let r = Renderer::new(profiles, printer);
    let raw = legitka::sample::order(0).to_string();
    let Ok(Inbound::Order(m, _)) = message::parse(raw.as_bytes(), &TrustedKeys::default()) else {
        panic!("sample order parses")
    };
    let order = legitka::ingest::check(&m, &r, legitka::sample::SCHOOL_RSPO).unwrap();
    c.bench_function("render_card", |b| {
        b.iter(|| black_box(r.render(&order.data, &order.photo).unwrap()))
    });
    let card = r.render(&order.data, &order.photo).unwrap();
    c.bench_function("encode_panels_ymcko", |b| {
        b.iter(|| {
            let colour = card.panels.colour.as_ref().unwrap();
            let mut n = 0;
            for k in [PanelKind::Yellow, PanelKind::Magenta, PanelKind::Cyan] {
                n += wire::colour_panel(k, colour, 128).len();
            }
            n += wire::mono_panel(PanelKind::Black, card.panels.black.as_ref().unwrap()).len();
            n += wire::mono_panel(PanelKind::Overlay, card.panels.overlay.as_ref().unwrap()).len();
            black_box(n)
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
