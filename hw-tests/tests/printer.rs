//! The scenarios a technician runs on a real printer. Skipped without one.

use image::{Rgb, RgbImage};
use legitka_drivers::{Mono, PanelSet, Printer, PrinterState};
use legitka_hw_tests::printer_under_test;

#[test]
fn identity_and_status_are_read() {
    let Some(mut p) = printer_under_test() else {
        return;
    };
    assert!(!p.identity().model.is_empty(), "model");
    assert!(!p.identity().serial.is_empty(), "serial");
    let st = p.status().expect("status");
    assert_ne!(st.state, PrinterState::Offline);
}

#[test]
fn a_calibration_card_prints() {
    let Some(mut p) = printer_under_test() else {
        return;
    };
    let (w, h) = (1016, 648);
    // Colour bars across the top half; a black frame 2 mm inside the edge.
    let colour = RgbImage::from_fn(w, h, |x, y| {
        if y > h / 2 {
            return Rgb([255, 255, 255]);
        }
        const BARS: [[u8; 3]; 6] = [
            [255, 0, 0],
            [0, 255, 0],
            [0, 0, 255],
            [0, 255, 255],
            [255, 0, 255],
            [255, 255, 0],
        ];
        Rgb(BARS[(x * 6 / w) as usize])
    });
    let mut black = Mono::new(w, h);
    for x in 24..w - 24 {
        black.set(x, 24, true);
        black.set(x, h - 25, true);
    }
    for y in 24..h - 24 {
        black.set(24, y, true);
        black.set(w - 25, y, true);
    }
    let card = PanelSet {
        colour: Some(colour),
        black: Some(black),
        overlay: Some(Mono::filled(w, h)),
    };
    let report = p.print(&card).expect("card printed");
    assert!(report.counter > 0);
}
