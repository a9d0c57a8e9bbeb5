//! The same scenarios against the simulator over a pseudo-terminal, so the
//! suite a technician runs on hardware is itself tested on every CI run.

use legitka_drivers::transport::SerialTransport;
use legitka_hw_tests::{calibration_card, calibration_print, evolis, identity_and_status, BARS};
use legitka_sim::{spawn_pty, SimConfig, SimHandle, SimPrinter};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

fn simulated() -> (SimHandle, legitka_drivers::evolis::EvolisPrinter) {
    let sim = SimHandle::new(SimPrinter::new(SimConfig::default()));
    let path = spawn_pty(sim.clone(), Arc::new(AtomicBool::new(false))).unwrap();
    (sim, evolis(Box::new(SerialTransport::open(&path).unwrap())))
}

#[test]
fn identity_and_status_are_read() {
    let (_sim, mut p) = simulated();
    identity_and_status(&mut p);
}

#[test]
fn two_calibration_cards_print_and_look_as_described_in_the_readme() {
    let (sim, mut p) = simulated();
    calibration_print(&mut p);
    let card = sim.with(|s| s.printed()[1].clone());
    let want = calibration_card();
    // The frame is where the README tells the technician to look for it.
    assert_eq!(card.black, *want.black.as_ref().unwrap());
    // Bars left to right: red, green, blue, cyan, magenta, yellow.
    for (i, rgb) in BARS.iter().enumerate() {
        let x = (i as u32 * 2 + 1) * 1016 / 12;
        let got = card.image.get_pixel(x, 100).0;
        for c in 0..3 {
            assert!(got[c].abs_diff(rgb[c]) <= 2, "bar {i}: {got:?}");
        }
    }
}
