//! The IPP path against the CUPS project's own printers: `ippeveprinter`
//! (the reference IPP Everywhere printer) and a private `cupsd` in front of
//! Gutenprint's Magicard driver. Orders in, cards out, faults, an aborted
//! job held, a queue that would print twice refused.

mod common;

use common::cups::Ippeve;
use legitka_drivers::ipp::raster;
use std::time::Duration;

/// A station whose printer is `uri`, with `profile`.
async fn station_on(
    uri: String,
    profile: &str,
    tweak: impl FnOnce(&mut legitka::settings::Settings),
) -> common::Harness {
    common::Harness::start_with(|s| {
        s.printer.uri = uri;
        s.printer.profile = profile.into();
        tweak(s);
    })
    .await
}

/// A class of 30 prints on an IPP Everywhere printer: 30 jobs, 30 register
/// rows, and every page carries its text as pure black and nothing else
/// near black.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_prints_on_an_ipp_everywhere_printer() {
    // Its print command takes the page at once (without one it takes some
    // seconds of pretending to print each).
    let printer = Ippeve::start(Some("exit 0"));
    let uri = printer.uri.clone();
    let said = probe(&uri);
    assert!(said.contains("profile:      ipp-everywhere"), "{said}");
    let mut h = station_on(uri, "ipp-everywhere", |_| {}).await;
    let ids = h.send_orders(0, 30).await;
    for id in &ids {
        let printed = h.wait_for(id, "card.printed").await;
        assert_eq!(printed["printer_model"], "legitka Card Test", "{printed}");
    }
    let docs = printer.documents();
    assert_eq!(docs.len(), 30, "{docs:?}");
    for doc in &docs[..3] {
        let page = raster::decode(&std::fs::read(doc).unwrap()).expect("a PWG raster page");
        assert_eq!(page.dimensions(), (1016, 648));
        let mut black = 0;
        for p in page.pixels() {
            if p.0 == [0, 0, 0] {
                black += 1;
            } else {
                assert!(
                    p.0.iter()
                        .all(|v| *v >= legitka_drivers::ipp::page::ABOVE_BLACK),
                    "a near-black pixel that is not text: {:?}",
                    p.0
                );
            }
        }
        assert!(black > 2000, "the text is black: {black} pixels");
    }
    let h = h.stop().await;
    let store = legitka::records::store::Store::open(&h.db(), &h.settings.station)
        .await
        .unwrap();
    assert_eq!(store.register().await.unwrap().len(), 30);
}

/// A job the printer aborts (a jam) is a card a person must check: held,
/// never printed again on its own; the printer's fault is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_job_is_held_for_a_person_and_not_printed_again() {
    let printer = Ippeve::start(Some(
        r#"n=$(cat "$(dirname "$0")/jobs" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$(dirname "$0")/jobs"
if [ "$n" = 2 ]; then echo "STATE: +media-jam" >&2; sleep 1; echo "ERROR: card jammed" >&2; exit 1; fi
sleep 0.2; exit 0"#,
    ));
    let uri = printer.uri.clone();
    let mut h = station_on(uri, "ipp-everywhere", |_| {}).await;
    let ids = h.send_orders(0, 3).await;
    h.wait_for(&ids[0], "card.printed").await;
    let held = h.wait_for(&ids[1], "order.held").await;
    assert_eq!(held["code"], "needs_check", "{held}");
    h.wait_for(&ids[2], "card.printed").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        h.central.events_for(&ids[1], "card.printed").count(),
        0,
        "the jammed card printed on its own"
    );
    let jobs: u32 = std::fs::read_to_string(printer.dir.path().join("jobs"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(jobs, 3, "one job a card, the jammed one not sent again");
    h.stop().await;
}

/// The Magicard driver's output (Gutenprint 5.3's `rastertogutenprint`):
/// a text header ending in 0x1c, then the Y, M and C planes, 672 x 1016
/// bytes each, each followed by 0x1c and "B:", "G:" or "R:". With
/// `StpBlackType=Resin` the header carries `X-GP-RK`, and the printer's
/// backend sends to the resin K panel the pixels whose three plane bytes
/// are all 252 or more (Gutenprint's `downscale_and_extract`).
struct MagicardOutput {
    resin: bool,
    laminate: bool,
    planes: [Vec<u8>; 3],
}

const MAGICARD_W: usize = 672;
const MAGICARD_H: usize = 1016;
/// Where the driver puts a page's column 0.
const MAGICARD_X0: usize = 15;

impl MagicardOutput {
    fn parse(d: &[u8]) -> MagicardOutput {
        let end = 65 + d[65..].iter().position(|&b| b == 0x1c).expect("a header");
        let header = std::str::from_utf8(&d[65..end]).unwrap();
        let tokens: Vec<&str> = header.split(',').collect();
        let n = MAGICARD_W * MAGICARD_H;
        let mut off = end + 1;
        let mut planes: Vec<Vec<u8>> = Vec::new();
        for tag in [b'B', b'G', b'R'] {
            planes.push(d[off..off + n].to_vec());
            assert_eq!(
                &d[off + n..off + n + 3],
                &[0x1c, tag, b':'],
                "plane {}",
                tag as char
            );
            off += n + 3;
        }
        assert_eq!(&d[off..], &[0x03]);
        MagicardOutput {
            resin: tokens.contains(&"X-GP-RK"),
            laminate: tokens.contains(&"OVRON"),
            planes: planes.try_into().unwrap(),
        }
    }

    fn is_k(&self, x: usize, y: usize) -> bool {
        let i = y * MAGICARD_W + x;
        self.resin && self.planes.iter().all(|p| p[i] >= 252)
    }

    /// The colour the planes put down (Y = 255 - B and so on).
    fn colour(&self, x: usize, y: usize) -> [u8; 3] {
        let i = y * MAGICARD_W + x;
        [
            255 - self.planes[2][i],
            255 - self.planes[1][i],
            255 - self.planes[0][i],
        ]
    }
}

/// Through a real CUPS with Gutenprint's Magicard driver into a file: every
/// text pixel went to resin K, and nothing else did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_magicard_through_cups_all_text_and_only_text_goes_to_resin_k() {
    let cups = common::cups::Cups::start();
    let out = cups.magicard_queue("Magicard", "abort-job");
    let uri = cups.uri("Magicard");
    let mut h = station_on(uri, "magicard-gutenprint", |_| {}).await;
    let ids = h.send_orders(0, 1).await;
    h.wait_for(&ids[0], "card.printed").await;
    // What the station sent (CUPS keeps it), and what the driver made of it.
    let docs = cups.documents();
    assert_eq!(docs.len(), 1, "{docs:?}\n{}", cups.log());
    let page = raster::decode(&std::fs::read(&docs[0]).unwrap()).expect("a CUPS raster page");
    assert_eq!(
        page.dimensions(),
        (642, 1016),
        "portrait, as the driver's page"
    );
    let driver = MagicardOutput::parse(&std::fs::read(&out).unwrap());
    assert!(
        driver.resin && driver.laminate,
        "StpBlackType=Resin and StpLaminate=On reached the driver"
    );
    let (mut text, mut wrong) = (0usize, Vec::new());
    for (x, y, p) in page.enumerate_pixels() {
        let is_text = p.0 == [0, 0, 0];
        text += usize::from(is_text);
        let k = driver.is_k(x as usize + MAGICARD_X0, y as usize);
        if is_text != k {
            wrong.push((x, y, p.0, k));
        }
    }
    assert!(text > 2000, "the card's text is {text} pixels");
    assert!(
        wrong.is_empty(),
        "{} pixels went to the wrong panel, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    // The margins the driver adds are blank, and the photo is in colour.
    for y in 0..MAGICARD_H {
        for x in (0..MAGICARD_X0).chain(MAGICARD_X0 + 642..MAGICARD_W) {
            assert_eq!(driver.colour(x, y), [255, 255, 255]);
        }
    }
    if let Some(dir) = std::env::var_os("LEGITKA_TEST_PICTURES") {
        // The K plane beside the colour planes, to look at.
        let mut pic = image::RgbImage::new(2 * MAGICARD_W as u32, MAGICARD_H as u32);
        for y in 0..MAGICARD_H {
            for x in 0..MAGICARD_W {
                let k = if driver.is_k(x, y) {
                    [0, 0, 0]
                } else {
                    [255, 255, 255]
                };
                pic.put_pixel(x as u32, y as u32, image::Rgb(k));
                // The backend leaves the colour panels blank under resin.
                let c = if driver.is_k(x, y) {
                    [255, 255, 255]
                } else {
                    driver.colour(x, y)
                };
                pic.put_pixel((x + MAGICARD_W) as u32, y as u32, image::Rgb(c));
            }
        }
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        pic.save(dir.join("magicard-k-and-colour.png")).unwrap();
    }
    h.stop().await;
}

/// A CUPS queue that retries failed jobs could print a card twice: the
/// station does not start on it, and says how to mend it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_that_retries_failed_jobs_is_refused_at_start() {
    let cups = common::cups::Cups::start();
    cups.magicard_queue("Retrying", "retry-job");
    let dir = tempfile::tempdir().unwrap();
    let mut settings = common::settings(dir.path(), "unused");
    settings.printer.uri = cups.uri("Retrying");
    let config = dir.path().join("legitka.toml");
    common::write_config(&settings, &config);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_legitka"))
        .args(["daemon", "--config"])
        .arg(&config)
        .env("LEGITKA_PRINTER__PROFILE", "magicard-gutenprint")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("lpadmin -p Retrying -o printer-error-policy=abort-job"),
        "{err}"
    );
    // `printers probe` names the profile and the same fix.
    let said = probe(&cups.uri("Retrying"));
    assert!(
        said.contains("profile:      magicard-gutenprint (it names this printer)"),
        "{said}"
    );
    assert!(
        said.contains("missing:      the queue sends a failed job again"),
        "{said}"
    );
    cups.run(
        "lpadmin",
        &["-p", "Retrying", "-o", "printer-error-policy=abort-job"],
    );
    let said = probe(&cups.uri("Retrying"));
    assert!(said.contains("missing:      nothing"), "{said}");
}

fn probe(uri: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_legitka"))
        .args(["printers", "probe", uri])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A stopped queue (`cupsdisable`, as CUPS does itself when a backend
/// fails) holds the printing back; enabled again, the card prints once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_queue_pauses_the_station_and_it_goes_on_when_enabled() {
    let cups = common::cups::Cups::start();
    cups.magicard_queue("Magicard", "abort-job");
    cups.run("cupsdisable", &["Magicard"]);
    let uri = cups.uri("Magicard");
    let mut h = station_on(uri, "magicard-gutenprint", |_| {}).await;
    let ids = h.send_orders(0, 1).await;
    h.wait_for(&ids[0], "order.accepted").await;
    let stopped = h
        .central
        .wait_state(Duration::from_secs(20), |s| {
            s["printer"]["state"] == "error"
        })
        .await;
    assert!(stopped.is_some(), "the stopped queue is not reported");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.central.events_for(&ids[0], "card.printed").count(), 0);
    assert!(
        cups.documents().is_empty(),
        "a job was sent to a stopped queue"
    );
    cups.run("cupsenable", &["Magicard"]);
    h.wait_for(&ids[0], "card.printed").await;
    assert_eq!(cups.documents().len(), 1);
    h.stop().await;
}

/// Numbered blanks, a batch, a held card and the register work on an IPP
/// printer as on the native one: the jammed card's blank is recorded
/// spoiled on the operator's word, its reprint takes the next blank.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_on_numbered_blanks_prints_holds_and_registers_over_ipp() {
    use legitka::records::store::QueueMode;
    let printer = Ippeve::start(Some(
        r#"n=$(cat "$(dirname "$0")/jobs" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$(dirname "$0")/jobs"
if [ "$n" = 3 ]; then echo "STATE: +media-jam" >&2; sleep 1; exit 1; fi
exit 0"#,
    ));
    let uri = printer.uri.clone();
    let mut h = station_on(uri, "ipp-everywhere", |s| s.queue.mode = QueueMode::Batch).await;
    let config = h.dir.path().join("legitka.toml");
    common::write_config(&h.settings, &config);
    let ids = h.send_orders(0, 5).await;
    for id in &ids {
        h.wait_for(id, "order.accepted").await;
    }
    common::cli::receive_blanks(&config, "000101", 10, "Anna Kowalska");
    common::cli::start_class_batch(&config, "000101", "1a", "Anna Kowalska");
    let held = h.wait_for(&ids[2], "order.held").await;
    assert_eq!(held["code"], "needs_check", "{held}");
    common::cli::ok(
        &config,
        &[
            "release",
            &ids[2],
            "--spoiled",
            "--operator",
            "Anna Kowalska",
        ],
    );
    // The spoiled blank left the batch one short: the next one goes into
    // the feeder, as a person would put it there, and the batch goes on.
    h.wait_for(&ids[3], "card.printed").await;
    common::cli::ok(
        &config,
        &[
            "blanks",
            "load",
            "--first",
            "000106",
            "--count",
            "1",
            "--operator",
            "Anna Kowalska",
        ],
    );
    let batches = legitka::records::store::Store::open(&h.db(), &h.settings.station)
        .await
        .unwrap()
        .batch_summaries(true, 10, 0)
        .await
        .unwrap();
    for b in &batches {
        if b.status == "paused" {
            common::cli::ok(
                &config,
                &["batch", "resume", &b.id, "--operator", "Anna Kowalska"],
            );
        }
    }
    for id in &ids {
        h.wait_for(id, "card.printed").await;
    }
    let h = h.stop().await;
    let store = legitka::records::store::Store::open(&h.db(), &h.settings.station)
        .await
        .unwrap();
    let mut serials: Vec<String> = store
        .register()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| r.blank_serial)
        .collect();
    serials.sort();
    assert_eq!(serials, ["000101", "000102", "000104", "000105", "000106"]);
    let spoiled = store.spoiled_blanks().await.unwrap();
    assert!(
        spoiled.iter().any(|(_, s)| s.as_deref() == Some("000103")),
        "{spoiled:?}"
    );
    let jobs: u32 = std::fs::read_to_string(printer.dir.path().join("jobs"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(jobs, 6, "five cards and the one reprint");
}

/// A printer that answers but refuses every card (its spool is gone) is not
/// asked again several times a second: the card waits, and the station
/// pauses between tries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printer_refusing_every_card_is_not_hammered() {
    let printer = Ippeve::start(Some("exit 0"));
    std::fs::remove_dir(&printer.spool).unwrap();
    let uri = printer.uri.clone();
    let mut h = station_on(uri, "ipp-everywhere", |_| {}).await;
    let ids = h.send_orders(0, 1).await;
    h.wait_for(&ids[0], "order.accepted").await;
    let log = printer.dir.path().join("ippeveprinter.log");
    let jobs = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("Print-Job document-format")
            .count()
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = jobs();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let tries = jobs() - before;
    assert!(tries >= 1, "the card is tried again");
    assert!(tries <= 4, "{tries} Print-Job requests in 6 s");
    assert_eq!(h.central.events_for(&ids[0], "card.printed").count(), 0);
    // The spool back: the card prints, once.
    std::fs::create_dir(&printer.spool).unwrap();
    h.wait_for(&ids[0], "card.printed").await;
    h.stop().await;
}

/// Over `ipps://` a printer shows its own, self-signed certificate: refused
/// until the school saves it (the line `probe` gives) and names it; then the
/// station prints on it. Another certificate is no proof of this printer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipps_printer_is_trusted_by_its_own_saved_certificate() {
    let printer = Ippeve::start(Some("exit 0"));
    // The certificate names the host `localhost`, not the address.
    let uri = printer.uri.replace("ipp://127.0.0.1:", "ipps://localhost:");
    let legitka = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_legitka"))
            .args(args)
            .current_dir(printer.dir.path())
            .output()
            .unwrap()
    };
    let out = legitka(&["printers", "probe", &uri]);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{out:?}");
    assert!(said.contains("self-signed"), "{said}");
    let line = said
        .lines()
        .find(|l| l.trim_start().starts_with("openssl s_client"))
        .unwrap_or_else(|| panic!("no line to save the certificate: {said}"))
        .trim()
        .to_string();
    let saved = std::process::Command::new("sh")
        .args(["-c", &line])
        .current_dir(printer.dir.path())
        .output()
        .unwrap();
    assert!(saved.status.success(), "{saved:?}");
    assert!(
        String::from_utf8_lossy(&saved.stdout).contains("Fingerprint="),
        "{saved:?}"
    );
    let pem = printer.dir.path().join("printer.pem");
    let out = legitka(&["printers", "probe", &uri, "--ca-file", "printer.pem"]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains("legitka Card Test"), "{said}");

    // A certificate of somebody else's proves nothing.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let stranger = printer.dir.path().join("stranger.pem");
    std::fs::write(&stranger, other.cert.pem()).unwrap();
    let out = legitka(&["printers", "probe", &uri, "--ca-file", "stranger.pem"]);
    assert!(!out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(said.contains("is not this printer's"), "{said}");
    // Its certificate does not name the address: the name is asked for.
    let by_address = uri.replace("ipps://localhost:", "ipps://127.0.0.1:");
    let out = legitka(&["printers", "probe", &by_address, "--ca-file", "printer.pem"]);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(said.contains("write one of the names"), "{said}");

    // The station, told the printer's certificate, prints a class over TLS.
    let mut h = station_on(uri, "ipp-everywhere", |s| s.printer.ca_file = Some(pem)).await;
    let started = std::time::Instant::now();
    let ids = h.send_orders(0, 30).await;
    for id in &ids {
        h.wait_for(id, "card.printed").await;
    }
    eprintln!("30 cards over ipps:// in {:.1?}", started.elapsed());
    assert_eq!(printer.documents().len(), 30);
    h.stop().await;
}

/// A `printer.ca_file` that holds no certificate stops the station at
/// start, naming the file, before any printer is asked.
#[test]
fn a_ca_file_without_a_certificate_stops_the_station_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = common::settings(dir.path(), "unused");
    settings.printer.uri = "ipps://localhost:1/ipp/print".into();
    let pem = dir.path().join("printer.pem");
    std::fs::write(&pem, "not a certificate\n").unwrap();
    let config = dir.path().join("legitka.toml");
    common::write_config(&settings, &config);
    // The test's configuration writer names the printer's uri only.
    let toml = std::fs::read_to_string(&config).unwrap().replace(
        "[printer]\n",
        &format!("[printer]\nca_file = \"{}\"\n", pem.display()),
    );
    std::fs::write(&config, toml).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_legitka"))
        .args(["daemon", "--config"])
        .arg(&config)
        .env("LEGITKA_PRINTER__PROFILE", "ipp-everywhere")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A station that ignored the file would run on: give it 30 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(78), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("printer.ca_file") && err.contains("no PEM certificate"),
        "{err}"
    );
}
