//! The operator's web page in a real browser: Debian's Chromium, headless,
//! through chromedriver (fantoccini), against a station on a real broker and
//! the simulator. `./test` and `.ci/run` install Chromium where it is
//! missing and require this test; a bare `cargo test` without Chromium
//! says so and skips it.
//!
//! On a failure the page is saved as a screenshot in
//! `target/browser-failures/`; with LEGITKA_TEST_SCREENSHOTS=DIR every main
//! page is saved there (the README's pictures come from this).

mod common;

use common::web::{free_port, pesels, WebStation, PASSWORD};
use fantoccini::{Client, ClientBuilder, Locator};
use legitka::records::store::{QueueMode, RegisterFilter, Store};
use legitka_sim::SimConfig;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver on a free port, or None (with the reason) where Chromium is
/// not installed and not required.
async fn browser() -> Option<(Driver, Client)> {
    let required = std::env::var("LEGITKA_TEST_BROWSER").is_ok_and(|v| v == "required");
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let driver = which("chromedriver");
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        assert!(!required, "Chromium and chromedriver are required (LEGITKA_TEST_BROWSER=required): apt-get install chromium chromium-driver, or run ./test");
        eprintln!("SKIPPED: the browser test needs Debian's chromium and chromium-driver (./test installs them)");
        return None;
    };
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1366,768", "--lang=pl-PL"],
        }),
    );
    for _ in 0..100 {
        if let Ok(c) = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            return Some((driver, c));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer");
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(cmd))
            .find(|p| p.is_file())
    })
}

/// The steps a person takes, with a screenshot of where it went wrong.
struct Person {
    c: Client,
    base: String,
    keep: Option<PathBuf>,
}

impl Person {
    async fn go(&self, path: &str) {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    async fn html(&self) -> String {
        self.c.source().await.unwrap()
    }

    /// The text of the first element matching `css`, once the page that
    /// has it is loaded (a click's navigation may still be under way).
    async fn text_of(&self, css: &str) -> String {
        let mut last = None;
        for _ in 0..50 {
            match self.c.find(Locator::Css(css)).await {
                Ok(e) => match e.text().await {
                    Ok(t) => return t,
                    Err(err) => last = Some(err.to_string()),
                },
                Err(err) => last = Some(err.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no {css}: {last:?}");
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.c.find(Locator::Css(css)).await.unwrap();
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Follows the link named `text`, once the page that has it is loaded.
    async fn click_link(&self, text: &str) {
        let mut last = None;
        for _ in 0..50 {
            match self.c.find(Locator::LinkText(text)).await {
                Ok(e) => match e.click().await {
                    Ok(()) => return,
                    Err(err) => last = Some(err.to_string()),
                },
                Err(err) => last = Some(err.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no link named {text:?}: {last:?}");
    }

    /// The message an action left on the page it led to.
    async fn flash(&self) -> String {
        self.text_of("p.flash").await
    }

    async fn log_in(&self, login: &str, password: &str) {
        self.go("/logowanie").await;
        self.fill("#login", login).await;
        self.fill("#password", password).await;
        self.click("button[type=submit]").await;
    }

    async fn log_out(&self) {
        self.click("header form button").await;
    }

    async fn shot(&self, name: &str) {
        if let Some(dir) = &self.keep {
            std::fs::create_dir_all(dir).unwrap();
            let png = self.c.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        }
    }

    /// Waits until `check` holds on the page's source.
    async fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) {
        for _ in 0..200 {
            if check(&self.html().await) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never showed {what}");
    }

    /// POSTs a form from inside the page (the browser's own cookies) and
    /// returns the HTTP status: what a forged or a read-only request gets.
    async fn post_status(&self, path: &str, fields: &[(&str, &str)]) -> u64 {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let v = self
            .c
            .execute_async(
                "const [path, body, done] = arguments;
                 fetch(path, {method: 'POST', body, redirect: 'manual',
                              headers: {'Content-Type': 'application/x-www-form-urlencoded'}})
                   .then(r => done(r.status), e => done(-1));",
                vec![path.into(), body.join("&").into()],
            )
            .await
            .unwrap();
        v.as_u64().unwrap_or(0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secretary_runs_a_batch_settles_a_held_card_and_applies_a_hologram_in_a_browser() {
    let Some((_driver, c)) = browser().await else {
        return;
    };
    // The third card of the batch is cut off mid-print (the printer unplugged
    // for 2 s): the station holds it for a person to check.
    // The feeder holds the stack the batch is started on, six blanks.
    let sim = SimConfig {
        card_time: Duration::from_millis(300),
        feeder_cards: 0,
        blanks: vec![legitka_sim::Stack::new("MEiN-I/1", "000101", 6).unwrap()],
        ..SimConfig::default()
    };
    let w = WebStation::start(sim, |s| s.queue.mode = QueueMode::Batch).await;
    w.h.sim
        .with(|p| p.faults.unplug_card = Some((3, Duration::from_secs(2))));
    let w_base = w.base.clone();
    let person = Person {
        c: c.clone(),
        base: w.base.clone(),
        keep: std::env::var_os("LEGITKA_TEST_SCREENSHOTS").map(PathBuf::from),
    };
    let config = w.config.clone();
    let db = w.h.db();
    let mut h = w.h;
    let ids = h.send_orders(0, 6).await;
    for id in &ids {
        h.wait_for(id, "order.accepted").await;
    }
    // A class whose name has a quote in it: the page's "tick the class"
    // must tick its pupil and nothing else (issue 17).
    let mut quoted = legitka::card::sample::order(40);
    quoted["student"]["class"] = "4\"a".into();
    h.central.send_order(&quoted).await;
    h.wait_for(quoted["order_id"].as_str().unwrap(), "order.accepted")
        .await;
    common::cli::receive_blanks(&config, "000101", 20, "Anna Kowalska");
    let year = legitka::records::hologram::SchoolYear::current().to_string();
    common::cli::receive_holograms(&config, &year, "H000501", 10, "Anna Kowalska");

    let steps = async {
        // A wrong password is refused with a message.
        person.log_in("anna", "nie-to-hasło").await;
        assert!(person
            .flash()
            .await
            .contains("Nieprawidłowy login lub hasło"));
        person.shot("logowanie").await;
        person.log_in("anna", PASSWORD).await;

        // The dashboard shows the printer.
        let model = person.text_of("#live").await;
        assert!(model.contains("Evolis Primacy 2"), "{model}");
        assert!(person.text_of("#printer-state").await.contains("gotowa"));

        // The queue, grouped by class; a batch for class 1a on blanks from 000101.
        person.click_link("Kolejka").await;
        let queue = person.html().await;
        assert!(queue.contains("Klasa 1a"));
        for p in pesels(6) {
            assert!(!queue.contains(&p), "a full PESEL on the queue page");
        }
        person.shot("kolejka").await;
        let ticks = person
            .c
            .find_all(Locator::Css("[data-tick-class]"))
            .await
            .unwrap();
        let mut tick = None;
        for t in ticks {
            if t.attr("data-tick-class").await.unwrap().as_deref() == Some("4\"a") {
                tick = Some(t);
            }
        }
        let tick = tick.expect("a tick box for class 4\"a");
        tick.click().await.unwrap();
        let mut ticked = Vec::new();
        for b in person
            .c
            .find_all(Locator::Css("input[name='order']"))
            .await
            .unwrap()
        {
            if b.prop("checked").await.unwrap().as_deref() == Some("true") {
                ticked.push(b.attr("data-class").await.unwrap().unwrap_or_default());
            }
        }
        assert_eq!(
            ticked,
            vec!["4\"a".to_string()],
            "ticking class 4\"a ticked {ticked:?}"
        );
        tick.click().await.unwrap();
        person.fill("#first_blank", "000101").await;
        person
            .c
            .find(Locator::Css("#class"))
            .await
            .unwrap()
            .select_by_value("1a")
            .await
            .unwrap();
        person
            .click("form[action='/kolejka/partia'] button.primary")
            .await;
        let said = person.flash().await;
        assert!(
            said.contains("uruchomiona: 6 kart na drukach od nr 000101"),
            "{said}"
        );

        // The third card is held; the rest of the batch waits for a word.
        h.wait_for(&ids[2], "order.held").await;
        // The dashboard, left open in one tab, follows the station live.
        person.click_link("Pulpit").await;
        for _ in 0..100 {
            if person.text_of("#queue-held").await.trim() == "1" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(person.text_of("#queue-held").await.trim(), "1");
        person
            .c
            .execute("window.__notReloaded = true;", vec![])
            .await
            .unwrap();
        let dashboard = person.c.window().await.unwrap();
        let tab = person.c.new_window(true).await.unwrap();
        person.c.switch_to_window(tab.handle).await.unwrap();
        person.go("/").await;
        person.click_link("Do sprawdzenia").await;
        person
            .wait_for("the held card", |p| p.contains("Druk przerwany"))
            .await;
        let held = person.html().await;
        assert!(held.contains("3/2026"));
        for p in pesels(6) {
            assert!(!held.contains(&p), "a full PESEL on the held cards page");
        }
        // Its preview is a real picture of the card.
        let loaded: bool = person
            .c
            .execute("const i = document.querySelector('img.preview'); return i.complete && i.naturalWidth > 300;", vec![])
            .await
            .unwrap()
            .as_bool()
            .unwrap();
        assert!(loaded, "the card's preview image loads");
        person.shot("do-sprawdzenia").await;
        // The cable was pulled mid-card: the simulator pushed the blank
        // out unprinted. The page names the blank the card started on.
        person.click_link("Druk zepsuty — drukuj ponownie").await;
        let ask = person.html().await;
        assert!(
            ask.contains("Karta zaczęła się drukować na druku <strong>MEiN-I/1 nr 000103</strong>"),
            "{ask}"
        );
        person.click("form button.primary").await;
        assert!(person
            .flash()
            .await
            .contains("3/2026 wróciła do kolejki, druk zapisany jako zepsuty"));

        // Six blanks for six cards, one spoiled: the last card finds none,
        // and the batch waits instead of printing it without a serial.
        let mut queue = String::new();
        for _ in 0..100 {
            person.go("/kolejka").await;
            queue = person.text_of("main").await;
            if queue.contains("nie ma zapisanych druków tego wzoru") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            queue.contains("nie ma zapisanych druków tego wzoru"),
            "the queue page says the batch waits for blanks: {queue}"
        );
        person.shot("kolejka-brak-drukow").await;
        // One more blank in the feeder, then recorded on the page.
        h.sim
            .with(|p| p.load_blanks(&legitka_sim::Stack::new("MEiN-I/1", "000107", 1).unwrap()));
        person.click_link("Druki").await;
        person.fill("#lfirst", "000107").await;
        person.fill("#lcount", "1").await;
        person
            .click("form[action='/druki/zaladuj'] button.primary")
            .await;
        assert!(person
            .flash()
            .await
            .contains("Załadowano 1 druków MEiN-I/1: 000107"));
        person.shot("druki").await;

        // The batch goes on and prints every card on the simulator; the
        // dashboard in the first tab shows it without a reload.
        h.wait_for(&ids[5], "card.printed").await;
        person.c.close_window().await.unwrap();
        person.c.switch_to_window(dashboard).await.unwrap();
        let mut live = (String::new(), String::new());
        for _ in 0..200 {
            live = (
                person.text_of("#queue-held").await,
                person.text_of("#queue-pending").await,
            );
            // Class 4"a's pupil waits for a batch of its own.
            if live.0.trim() == "0" && live.1.trim() == "1" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            (live.0.trim(), live.1.trim()),
            ("0", "1"),
            "the dashboard updates live"
        );
        let same_page = person
            .c
            .execute("return window.__notReloaded === true;", vec![])
            .await
            .unwrap();
        assert_eq!(
            same_page,
            serde_json::Value::Bool(true),
            "updated in place, not reloaded"
        );
        // No blank is left, and the 4"a pupil waits for a batch of its
        // own: that is not a card waiting for blanks.
        let board = person.text_of("main").await;
        assert!(
            !board.contains("Czeka na druki"),
            "a pupil outside any batch is said to wait for blanks: {board}"
        );
        person.shot("pulpit").await;

        // The 4"a pupil's photo is revoked before the class is printed: the
        // order is held, and the secretary deletes its data (issue 17).
        let quoted_id = quoted["order_id"].as_str().unwrap();
        h.central
            .send_revoke(quoted["student"]["id"].as_str().unwrap())
            .await;
        h.wait_for(quoted_id, "order.held").await;
        person.click_link("Do sprawdzenia").await;
        person
            .wait_for("the revoked photo's hold", |p| {
                p.contains("Usuń dane zamówienia")
            })
            .await;
        person.click_link("Usuń dane zamówienia").await;
        let ask = person.text_of("main").await;
        assert!(
            ask.contains("Usunąć dane zamówienia (imiona, datę urodzenia, PESEL)?"),
            "{ask}"
        );
        assert!(
            person.c.find(Locator::Css("#blank")).await.is_err(),
            "no blank's number is asked for a card that was never printed"
        );
        person.shot("usun-dane").await;
        person.click("form button.primary").await;
        let said = person.flash().await;
        assert!(said.contains("dane zamówienia skasowane"), "{said}");
        let ev = h.wait_for(quoted_id, "order.rejected").await;
        assert_eq!(ev["code"], "discarded");
        // The dashboard whole, its "Dane uczniów" panel with it.
        person.click_link("Pulpit").await;
        let panel = person.text_of("main").await;
        assert!(
            panel.contains("Dane uczniów") && panel.contains("60 dni"),
            "{panel}"
        );
        person.c.set_window_size(1366, 1800).await.unwrap();
        person.shot("pulpit-cala").await;
        person.c.set_window_size(1366, 768).await.unwrap();

        // A hologram by typing the card number and Enter, as a scanner does:
        // Enter moves to the serial instead of sending half a form.
        person.click_link("Hologramy").await;
        let card = person.c.find(Locator::Css("#card")).await.unwrap();
        card.send_keys("2/2026\u{E007}").await.unwrap();
        let focused: String = person
            .c
            .execute("return document.activeElement.id;", vec![])
            .await
            .unwrap()
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            focused, "serial",
            "Enter after the card number goes to the serial"
        );
        person
            .c
            .find(Locator::Css("#serial"))
            .await
            .unwrap()
            .send_keys("H000501\u{E007}")
            .await
            .unwrap();
        person
            .wait_for("the hologram's message", |p| p.contains("flash"))
            .await;
        let said = person.flash().await;
        assert!(
            said.contains("H000501 naklejony na legitymację 2/2026"),
            "{said}"
        );
        person.shot("hologramy").await;

        // The register, found by its link, searched by a name.
        person.click_link("Rejestr").await;
        let pupil = legitka::card::sample::order(3)["student"]["last_name"]
            .as_str()
            .unwrap()
            .to_string();
        person.fill("#q", &pupil).await;
        person.click("form[role=search] button").await;
        person
            .wait_for("the search's result", |p| p.contains("Znaleziono"))
            .await;
        let rows = person.text_of("table tbody").await;
        assert!(rows.contains("4/2026") && rows.contains(&pupil), "{rows}");
        assert!(
            !rows.contains("1/2026"),
            "only the cards searched for: {rows}"
        );
        person.shot("rejestr").await;
        person.click_link("4/2026").await;
        assert!(person.text_of(".fields").await.contains("Pole 8"));
        person.shot("rejestr-karta").await;

        // A form posted without its CSRF token is refused.
        let status = person
            .post_status(
                "/hologramy/naklej",
                &[("card", "5/2026"), ("serial", "H000502"), ("year", &year)],
            )
            .await;
        assert_eq!(status, 403, "no CSRF token, no change");
        person.log_out().await;

        // An auditor sees the register and is refused a change.
        person.log_in("ewa", PASSWORD).await;
        person.click_link("Hologramy").await;
        person
            .wait_for("the holograms page", |p| p.contains("Stan hologramów"))
            .await;
        assert!(
            person.c.find(Locator::Css("#card")).await.is_err(),
            "no hologram form for an auditor"
        );
        let token = person
            .c
            .find(Locator::Css("input[name=_csrf]"))
            .await
            .unwrap()
            .attr("value")
            .await
            .unwrap()
            .unwrap();
        let status = person
            .post_status(
                "/hologramy/naklej",
                &[
                    ("_csrf", &token),
                    ("card", "5/2026"),
                    ("serial", "H000502"),
                    ("year", &year),
                ],
            )
            .await;
        assert_eq!(status, 403, "an auditor changes nothing");
        person.click_link("Dziennik").await;
        let log = person.html().await;
        assert!(
            log.contains("uruchomienie partii")
                && log.contains("naklejenie hologramu")
                && log.contains("druk zepsuty"),
            "the audit log names each action"
        );
        person.shot("dziennik").await;
        person.click_link("Raporty").await;
        person
            .wait_for("the reports page", |p| p.contains("Protokoły partii"))
            .await;
        person.shot("raporty").await;
        assert!(
            person.c.find(Locator::LinkText("Drukarka")).await.is_err(),
            "administrators' pages are not in an auditor's menu"
        );
        person.log_out().await;

        // An administrator's pages: the printer and the accounts.
        person.log_in("adam", PASSWORD).await;
        person.click_link("Drukarka").await;
        person
            .wait_for("the printer's page", |p| p.contains("Karta testowa"))
            .await;
        assert!(person.text_of("main").await.contains("Evolis Primacy 2"));
        person.shot("drukarka").await;
        person.click_link("Konta").await;
        person
            .wait_for("the accounts page", |p| p.contains("Nowe konto"))
            .await;
        let accounts = person.text_of("main").await;
        assert!(
            accounts.contains("Ewa Wiśniewska") && accounts.contains("audytor"),
            "{accounts}"
        );
        person.shot("konta").await;
    };
    let outcome = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(steps)).await;
    if let Err(panic) = outcome {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-failures");
        std::fs::create_dir_all(&dir).unwrap();
        if let Ok(png) = c.screenshot().await {
            std::fs::write(dir.join("failure.png"), png).unwrap();
            eprintln!(
                "the page at the failure: {}",
                dir.join("failure.png").display()
            );
        }
        // And every page as it stood then, for whoever reads the failure.
        for path in [
            "/",
            "/kolejka",
            "/sprawdzenie",
            "/rejestr",
            "/hologramy",
            "/druki",
            "/raporty",
            "/drukarka",
            "/dziennik",
        ] {
            if c.goto(&format!("{w_base}{path}")).await.is_ok() {
                if let Ok(png) = c.screenshot().await {
                    let name = if path == "/" { "pulpit" } else { &path[1..] };
                    let _ = std::fs::write(dir.join(format!("page-{name}.png")), png);
                }
            }
        }
        let _ = c.close().await;
        std::panic::resume_unwind(panic);
    }
    c.close().await.unwrap();
    let h = h.stop().await;
    // What the page did is in the records: six cards, numbered blanks in
    // order, the hologram on card 2, none on card 5.
    let store = Store::open(&db, &h.settings.station).await.unwrap();
    let cards = store
        .register_entries(&RegisterFilter::default())
        .await
        .unwrap();
    assert_eq!(cards.len(), 6);
    let c2 = cards.iter().find(|e| e.card_number == "2/2026").unwrap();
    assert_eq!(c2.holograms, vec![format!("{year} H000501")]);
    let c5 = cards.iter().find(|e| e.card_number == "5/2026").unwrap();
    assert!(c5.holograms.is_empty(), "refused posts changed nothing");
    assert!(cards
        .iter()
        .all(|e| e.operator.as_deref() == Some("Anna Kowalska (anna)")));
    // Each card on the blank it physically went on: 000103 was pushed out
    // unprinted and is recorded spoiled; the last card took the one loaded
    // from the page.
    let serials: Vec<_> = cards
        .iter()
        .map(|e| e.blank_serial.clone().unwrap())
        .collect();
    assert_eq!(
        serials,
        ["000101", "000102", "000104", "000105", "000106", "000107"]
    );
    // ... and the simulator's own account agrees, blank by blank.
    let taken: Vec<(String, String)> = h.sim.with(|p| {
        p.feeder()
            .log()
            .iter()
            .map(|t| (t.serial.clone().unwrap(), format!("{:?}", t.outcome)))
            .collect()
    });
    let printed: Vec<&str> = taken
        .iter()
        .filter(|(_, o)| o == "Printed")
        .map(|(s, _)| s.as_str())
        .collect();
    assert_eq!(printed, serials);
    assert!(
        taken.contains(&("000103".into(), "Ejected".into())),
        "{taken:?}"
    );
}
