//! The scenario suite a technician runs: each scenario takes any
//! [`Printer`], so the same code runs against the simulator in CI
//! (`tests/simulator.rs`) and against a real printer named in
//! `LEGITKA_HW_PRINTER` (`tests/printer.rs`, run with `--ignored`).

use image::{Rgb, RgbImage};
use legitka_drivers::evolis::{EvolisPrinter, EvolisSettings};
use legitka_drivers::{
    open_uri, Capabilities, Mono, PanelSet, PrintReport, Printer, PrinterState, PrinterUri,
    Transport,
};

pub const WIDTH: u32 = 1016;
pub const HEIGHT: u32 = 648;

pub fn capabilities() -> Capabilities {
    Capabilities {
        dpi: 300,
        width_px: WIDTH,
        height_px: HEIGHT,
        ribbons: vec!["YMCKO".into()],
        duplex: false,
    }
}

/// An Evolis printer on `link`, with the ribbon from `LEGITKA_HW_RIBBON`.
pub fn evolis(link: Box<dyn Transport>) -> EvolisPrinter {
    let ribbon = std::env::var("LEGITKA_HW_RIBBON").unwrap_or_else(|_| "ymcko".into());
    EvolisPrinter::connect(
        link,
        EvolisSettings {
            ribbon,
            ..EvolisSettings::default()
        },
        capabilities(),
    )
    .expect("printer answers its identity queries")
}

/// The printer named in `LEGITKA_HW_PRINTER`, or `None` when none is.
pub fn printer_under_test() -> Option<EvolisPrinter> {
    let uri = std::env::var("LEGITKA_HW_PRINTER").ok()?;
    let uri: PrinterUri = uri.parse().expect("LEGITKA_HW_PRINTER is a printer uri");
    Some(evolis(open_uri(&uri).expect("printer reachable")))
}

/// The calibration card's bars, left to right: red, green, blue, cyan,
/// magenta, yellow.
pub const BARS: [[u8; 3]; 6] = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [0, 255, 255],
    [255, 0, 255],
    [255, 255, 0],
];

/// Six colour bars across the top half; a black frame 2 mm inside the edge;
/// overlay everywhere.
pub fn calibration_card() -> PanelSet {
    let colour = RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        if y > HEIGHT / 2 {
            Rgb([255, 255, 255])
        } else {
            Rgb(BARS[(x * 6 / WIDTH) as usize])
        }
    });
    let mut black = Mono::new(WIDTH, HEIGHT);
    for x in 24..WIDTH - 24 {
        black.set(x, 24, true);
        black.set(x, HEIGHT - 25, true);
    }
    for y in 24..HEIGHT - 24 {
        black.set(24, y, true);
        black.set(WIDTH - 25, y, true);
    }
    PanelSet {
        colour: Some(colour),
        black: Some(black),
        overlay: Some(Mono::filled(WIDTH, HEIGHT)),
    }
}

/// Model and serial are read and the printer is not offline.
pub fn identity_and_status(p: &mut dyn Printer) {
    assert!(!p.identity().model.is_empty(), "model");
    assert!(!p.identity().serial.is_empty(), "serial");
    let st = p.status().expect("status");
    assert_ne!(st.state, PrinterState::Offline);
}

/// One calibration card; the printer's own panel counter goes up by the
/// panels of one card, the same for both.
pub fn calibration_print(p: &mut dyn Printer) -> PrintReport {
    let report = p.print(&calibration_card()).expect("card printed");
    assert!(report.counter > 0);
    let again = p.print(&calibration_card()).expect("second card printed");
    assert!(again.panels > 0 && again.panels == report.panels);
    assert_eq!(
        again.counter,
        report.counter + again.panels,
        "one card's panels counted per print"
    );
    report
}
