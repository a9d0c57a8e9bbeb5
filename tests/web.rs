//! The operator's web page and API over real HTTP: accounts, sessions,
//! CSRF, roles, rate limits, and no full PESEL on any list. The same flows
//! in a real browser are in `browser.rs`.

mod common;

use common::web::{client, csrf_of, log_in, page, pesels, WebStation, PASSWORD};
use legitka::records::store::QueueMode;
use legitka_sim::SimConfig;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_csrf_roles_and_tokens_guard_every_change() {
    let w = WebStation::start(SimConfig::default(), |s| s.queue.mode = QueueMode::Batch).await;
    let base = &w.base;
    let mut h = w.h;
    let ids = h.send_orders(0, 4).await;
    for id in &ids {
        h.wait_for(id, "order.accepted").await;
    }

    // Nobody: the pages send to the login form, the API says 401.
    let anon = client();
    let r = anon.get(format!("{base}/kolejka")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/logowanie");
    let r = anon
        .get(format!("{base}/api/v1/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = anon
        .get(format!("{base}/api/v1/orders"))
        .bearer_auth("0".repeat(64))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a made-up token");

    // A wrong password is refused; the right one opens a session whose
    // cookie scripts cannot read and other sites cannot send.
    let anna = client();
    let (to, _) = log_in(&anna, base, "anna", "not her password").await;
    assert_eq!(to, "/logowanie?blad=haslo");
    let (to, cookies) = log_in(&anna, base, "anna", PASSWORD).await;
    assert_eq!(to, "/");
    let session = cookies
        .iter()
        .find(|c| c.starts_with("legitka_session="))
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );

    // Children's data is not cached, framed or mixed with others' scripts.
    let r = anna.get(format!("{base}/kolejka")).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));

    // The queue lists the orders by class, and no PESEL in full.
    let (status, queue) = page(&anna, format!("{base}/kolejka")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        queue.contains("Klasa 1a") && queue.contains("1/2026"),
        "{queue}"
    );
    for p in pesels(4) {
        assert!(!queue.contains(&p), "a full PESEL on the queue page");
    }

    // A form posted without its CSRF token is refused and changes nothing.
    let r = anna
        .post(format!("{base}/kolejka/partia"))
        .form(&[("first_blank", "000101"), ("class", "1a")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = anna
        .post(format!("{base}/kolejka/partia"))
        .form(&[
            ("_csrf", "0".repeat(64).as_str()),
            ("first_blank", "000101"),
            ("class", "1a"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a wrong token");

    // With the token, the records' refusal comes back as a message: these
    // blanks were never received.
    let csrf = csrf_of(&queue);
    let r = anna
        .post(format!("{base}/kolejka/partia"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("first_blank", "000101"),
            ("class", "1a"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, after) = page(&anna, format!("{base}/kolejka")).await;
    assert!(after.contains("nie był przyjęty na stan"), "{after}");

    // An auditor reads everything and changes nothing: 403 with a valid token.
    let ewa = client();
    log_in(&ewa, base, "ewa", PASSWORD).await;
    let (status, queue) = page(&ewa, format!("{base}/kolejka")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !queue.contains("Uruchom partię"),
        "no batch form for an auditor"
    );
    let r = ewa
        .post(format!("{base}/hologramy/naklej"))
        .form(&[
            ("_csrf", csrf_of(&queue).as_str()),
            ("card", "1/2026"),
            ("serial", "H1"),
            ("year", "2026/2027"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Administrators' pages are theirs alone.
    assert_eq!(
        page(&anna, format!("{base}/drukarka")).await.0,
        StatusCode::FORBIDDEN
    );
    let adam = client();
    log_in(&adam, base, "adam", PASSWORD).await;
    let (status, printer) = page(&adam, format!("{base}/drukarka")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(printer.contains("evolis-primacy-2"), "the profile in use");
    // A test card prints on the simulator between orders and is recorded
    // nowhere (the orders wait for a batch: nothing else prints).
    let r = adam
        .post(format!("{base}/drukarka/karta-testowa"))
        .form(&[("_csrf", csrf_of(&printer).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for _ in 0..100 {
        if h.sim.printed_count() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(h.sim.printed_count(), 1, "the test card came out");
    let store = legitka::records::store::Store::open(&h.db(), &h.settings.station)
        .await
        .unwrap();
    assert_eq!(
        store
            .register_entries(&Default::default())
            .await
            .unwrap()
            .len(),
        0,
        "not in the register"
    );

    // A token from `legitka user token` reads the API; no PESEL there either.
    let token = common::cli::ok(&w.config, &["user", "token", "ewa"]);
    let r = anon
        .get(format!("{base}/api/v1/orders"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let orders = r.text().await.unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&orders).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 4);
    for p in pesels(4) {
        assert!(!orders.contains(&p), "a PESEL in the API");
    }

    // Reports download as the CLI writes them.
    let r = anna
        .get(format!("{base}/raporty/pobierz?rodzaj=druki&format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "no blanks yet: back with a message"
    );
    common::cli::receive_blanks(&w.config, "000101", 3, "anna");
    let r = anna
        .get(format!("{base}/raporty/pobierz?rodzaj=druki&format=pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("druki.pdf"));
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF"));
    let csv = anna
        .get(format!("{base}/raporty/pobierz?rodzaj=druki&format=csv"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(csv.starts_with("\u{feff}".as_bytes()), "a BOM for Excel");
    assert!(
        String::from_utf8_lossy(&csv).contains("000101 – 000103;3;MEiN-I/1;w magazynie"),
        "{}",
        String::from_utf8_lossy(&csv)
    );

    // Logging out ends the session on the server, not only in the browser.
    let (_, home) = page(&anna, format!("{base}/")).await;
    let r = anna
        .post(format!("{base}/wyloguj"))
        .form(&[("_csrf", csrf_of(&home).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = anna
        .get(format!("{base}/kolejka"))
        .header("cookie", session.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the old cookie is dead");

    // Every action above is in the audit log, with the account.
    let (_, log) = page(&adam, format!("{base}/dziennik")).await;
    for needle in ["nieudane logowanie", "wylogowanie", "nowy token API"] {
        assert!(log.contains(needle), "audit log lacks {needle}");
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_a_password_is_slowed_per_login_and_the_right_one_waits_too() {
    let w = WebStation::start(SimConfig::default(), |_| {}).await;
    let c = client();
    for _ in 0..5 {
        let (to, _) = log_in(&c, &w.base, "anna", "wrong-password").await;
        assert_eq!(to, "/logowanie?blad=haslo");
    }
    let (to, _) = log_in(&c, &w.base, "anna", PASSWORD).await;
    assert_eq!(
        to, "/logowanie?blad=limit",
        "the sixth try in a minute waits"
    );
    // Another login from the same address is not locked by anna's.
    let (to, _) = log_in(&c, &w.base, "adam", PASSWORD).await;
    assert_eq!(to, "/");
    w.h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_command_naming_an_account_is_recorded_as_that_account() {
    let w = WebStation::start(SimConfig::default(), |_| {}).await;
    let mut h = w.h;
    let ids = h.send_orders(0, 1).await;
    h.wait_for(&ids[0], "card.printed").await;
    let year = legitka::records::hologram::SchoolYear::current().to_string();
    common::cli::receive_holograms(&w.config, &year, "H000001", 2, "anna");
    // A class's holograms from the page: the preview shows card -> serial
    // and records nothing.
    let anna = client();
    log_in(&anna, &w.base, "anna", PASSWORD).await;
    let (_, form) = page(&anna, format!("{}/hologramy", w.base)).await;
    let r = anna
        .post(format!("{}/hologramy/klasa", w.base))
        .form(&[
            ("_csrf", csrf_of(&form).as_str()),
            ("class", "1a"),
            ("issued_in", "2026/2027"),
            ("first", "H000001"),
            ("year", year.as_str()),
            ("step", "preview"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let preview = r.text().await.unwrap();
    assert!(
        preview.contains("<td>1/2026</td>") && preview.contains("<td>H000001</td>"),
        "{preview}"
    );
    assert!(preview.contains("Zapisz hologramy (1)"));
    common::cli::ok(
        &w.config,
        &[
            "hologram",
            "apply",
            "--card",
            "1/2026",
            "--year",
            &year,
            "--serial",
            "H000001",
            "--operator",
            "anna",
        ],
    );
    let store = legitka::records::store::Store::open(&h.db(), &h.settings.station)
        .await
        .unwrap();
    let card = store
        .register_entries(&Default::default())
        .await
        .unwrap()
        .remove(0);
    let fields = store.hologram_fields(card.id).await.unwrap();
    assert_eq!(
        fields[0].applied_by.as_deref(),
        Some("Anna Kowalska (anna)")
    );
    let log = store.audit_entries(Some("anna"), 10).await.unwrap();
    assert!(
        log.iter().any(|e| e.via == "cli"
            && e.action == "hologram.apply"
            && e.target
                .as_deref()
                .is_some_and(|t| t.starts_with("1/2026 #"))),
        "{log:?}"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_session_unused_past_its_limit_is_refused_and_deleted() {
    use legitka::records::account::{hash_password, Role};
    let dir = tempfile::tempdir().unwrap();
    let store = legitka::records::store::Store::open(&dir.path().join("l.db"), "s1")
        .await
        .unwrap();
    store
        .add_user(
            "anna",
            "Anna Kowalska",
            Role::Operator,
            &hash_password(PASSWORD),
            &common::records::anna(),
        )
        .await
        .unwrap();
    let (token, _) = store.open_session("anna").await.unwrap();
    assert!(
        store.session(&token, 60, 3600).await.unwrap().is_some(),
        "a fresh session is live"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert!(
        store.session(&token, 1, 3600).await.unwrap().is_none(),
        "idle past the limit"
    );
    assert!(
        store.session(&token, 3600, 3600).await.unwrap().is_none(),
        "and gone for good"
    );
    // A session in use every second still ends at its absolute lifetime.
    let (token, _) = store.open_session("anna").await.unwrap();
    for _ in 0..3 {
        assert!(store.session(&token, 3600, 3).await.unwrap().is_some());
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert!(
        !store.session_is_live(&token, 3600, 3).await.unwrap(),
        "used all along, but older than its lifetime"
    );
    assert!(store.session(&token, 3600, 3).await.unwrap().is_none());
    // Disabling an account ends its sessions and tokens at once.
    let (token, _) = store.open_session("anna").await.unwrap();
    let (_, api) = store
        .add_api_token("anna", 90, &common::records::anna())
        .await
        .unwrap();
    store
        .disable_user("anna", &common::records::anna())
        .await
        .unwrap();
    assert!(store.session(&token, 3600, 3600).await.unwrap().is_none());
    assert!(store.user_by_token(&api).await.unwrap().is_none());
    assert!(
        store.password_hash("anna").await.unwrap().is_none(),
        "no login either"
    );
}

/// Druki and the scanned pile, from the page: a delivery (a large one
/// confirmed first), a stack loaded, then taken out; a range voided after a
/// confirmation; an auditor changes nothing; holograms on a pile of cards
/// in the order scanned. Each lands in the records and the audit log under
/// the person's login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blanks_and_a_scanned_pile_are_handled_from_the_page() {
    let w = WebStation::start(SimConfig::default(), |_| {}).await;
    let base = w.base.clone();
    let mut h = w.h;
    let ids = h.send_orders(0, 2).await;
    for id in &ids {
        h.wait_for(id, "card.printed").await;
    }
    let anna = client();
    log_in(&anna, &base, "anna", PASSWORD).await;
    // A form posted as the page posts it, with the session's CSRF token.
    let post = |c: &reqwest::Client, path: &str, form: Vec<(&'static str, String)>| {
        let (c, base, url) = (c.clone(), base.clone(), format!("{base}{path}"));
        async move {
            let (_, page) = page(&c, format!("{base}/druki")).await;
            let mut f = vec![("_csrf", csrf_of(&page))];
            f.extend(form);
            c.post(url).form(&f).send().await.unwrap()
        }
    };
    let flash = |r: &reqwest::Response| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("legitka_flash="))
            .map(|c| urlencoding_decode(&c))
            .unwrap_or_default()
    };
    // A large delivery: the page asks first, and records nothing.
    let delivery = |count: &str, step: &str| {
        vec![
            ("pattern", "MEiN-I/1".to_string()),
            ("first", "000101".to_string()),
            ("count", count.to_string()),
            ("step", step.to_string()),
        ]
    };
    let r = post(&anna, "/druki/przyjmij", delivery("1500", "check")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let ask = r.text().await.unwrap();
    assert!(
        ask.contains("Dostawa 1500 druków MEiN-I/1 od nr 000101?"),
        "{ask}"
    );
    let r = post(&anna, "/druki/przyjmij", delivery("1500", "save")).await;
    assert!(
        flash(&r).contains("Przyjęto 1500 druków MEiN-I/1: 000101 – 001600"),
        "{}",
        flash(&r)
    );
    // A mistyped pattern is not a form.
    let mut typo = delivery("5", "check");
    typo[0].1 = "MEIN-I/1".into();
    let r = post(&anna, "/druki/przyjmij", typo).await;
    assert!(
        flash(&r).contains("no card layout for pattern"),
        "{}",
        flash(&r)
    );

    // Loaded, the station says which serials; taken out, back in stock.
    let r = post(
        &anna,
        "/druki/zaladuj",
        vec![
            ("pattern", "MEiN-I/1".into()),
            ("first", "000101".into()),
            ("count", "3".into()),
        ],
    )
    .await;
    assert!(
        flash(&r).contains("Załadowano 3 druków MEiN-I/1: 000101 – 000103"),
        "{}",
        flash(&r)
    );
    let (_, druki) = page(&anna, format!("{base}/druki")).await;
    assert!(
        druki.contains("3 szt.: 000101 – 000103"),
        "the feeder as recorded"
    );
    let r = post(&anna, "/druki/wyjmij", vec![("pattern", "MEiN-I/1".into())]).await;
    assert!(
        flash(&r).contains("Wyjęto 3 druków MEiN-I/1: 000101 – 000103"),
        "{}",
        flash(&r)
    );

    // A correction: shown first, then recorded.
    let void = |step: &str| {
        vec![
            ("pattern", "MEiN-I/1".to_string()),
            ("first", "000601".to_string()),
            ("count", "1000".to_string()),
            ("reason", "dostawa miała 500 sztuk".to_string()),
            ("step", step.to_string()),
        ]
    };
    let r = post(&anna, "/druki/korekta", void("check")).await;
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Anulować 1000 druków MEiN-I/1: 000601 – 001600?"));
    let r = post(&anna, "/druki/korekta", void("save")).await;
    assert!(flash(&r).contains("Anulowano 1000 druków"), "{}", flash(&r));
    let (_, druki) = page(&anna, format!("{base}/druki")).await;
    assert!(
        druki.contains("<td class=\"num\">500</td>"),
        "received counts what exists: {druki}"
    );

    // An auditor sees the page and changes nothing.
    let ewa = client();
    log_in(&ewa, &base, "ewa", PASSWORD).await;
    let (status, seen) = page(&ewa, format!("{base}/druki")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!seen.contains("/druki/wyjmij"), "no forms for an auditor");
    let r = post(&ewa, "/druki/wyjmij", vec![("pattern", "MEiN-I/1".into())]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Holograms on a scanned pile: a preview card -> sticker, then saved.
    let year = legitka::records::hologram::SchoolYear::current().to_string();
    common::cli::receive_holograms(&w.config, &year, "H000001", 5, "anna");
    let pile = |step: &str| {
        vec![
            ("cards", "2/2026\r\n1/2026\r\n".to_string()),
            ("first", "H000001".to_string()),
            ("year", year.clone()),
            ("step", step.to_string()),
        ]
    };
    let r = post(&anna, "/hologramy/stos", pile("preview")).await;
    let preview = r.text().await.unwrap();
    let at = |s: &str| {
        preview
            .find(s)
            .unwrap_or_else(|| panic!("{s} not in {preview}"))
    };
    assert!(
        at("<td>2/2026</td>") < at("<td>1/2026</td>"),
        "in the order scanned"
    );
    assert!(at("<td>H000001</td>") < at("<td>H000002</td>"));
    let r = post(&anna, "/hologramy/stos", pile("save")).await;
    assert!(
        flash(&r).contains("Naklejono 2 hologramów"),
        "{}",
        flash(&r)
    );
    let ev = h.wait_for(&ids[1], "hologram.applied").await;
    assert_eq!(ev["hologram_serial"], "H000001");

    let store = legitka::records::store::Store::open(&h.db(), &h.settings.station)
        .await
        .unwrap();
    let log = store.audit_entries(Some("anna"), 50).await.unwrap();
    for action in [
        "blanks.receive",
        "blanks.load",
        "blanks.unload",
        "blanks.void",
        "hologram.apply_many",
    ] {
        assert!(
            log.iter().any(|e| e.action == action && e.via == "web"),
            "{action} audited: {log:?}"
        );
    }
    h.stop().await;
}

/// The flash cookie's text, as the page shows it.
fn urlencoding_decode(cookie: &str) -> String {
    let v = cookie
        .trim_start_matches("legitka_flash=")
        .split(';')
        .next()
        .unwrap_or_default();
    url::form_urlencoded::parse(v.as_bytes())
        .find(|(k, _)| k == "m")
        .map(|(_, m)| m.into_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pulpit_shows_a_failed_backup_until_one_succeeds() {
    let w = WebStation::start(SimConfig::default(), |_| {}).await;
    let base = &w.base;
    let ewa = client();
    log_in(&ewa, base, "ewa", PASSWORD).await;
    let (_, html) = page(&ewa, format!("{base}/")).await;
    assert!(html.contains("jeszcze nie zrobiona"), "no backup yet");
    assert!(
        html.contains("Codzienna kopia jest wyłączona"),
        "no [backup] dir"
    );
    // The nightly backup fails (its directory cannot be made).
    let blocker = w.h.dir.path().join("blocker");
    std::fs::write(&blocker, "x").unwrap();
    let to = blocker.join("sub");
    let (ok, _, _) = common::cli::legitka(&w.config, &["backup", "--to", to.to_str().unwrap()]);
    assert!(!ok);
    let (_, html) = page(&ewa, format!("{base}/")).await;
    assert!(html.contains("nieudana"), "a failed backup is shown");
    assert!(html.contains("Not a directory"), "with its reason");
    let dir = w.h.dir.path().join("kopie");
    common::cli::ok(&w.config, &["backup", "--to", dir.to_str().unwrap()]);
    let (_, html) = page(&ewa, format!("{base}/")).await;
    assert!(
        html.contains(r#"class="state ok">zrobiona"#) && !html.contains("nieudana"),
        "then done"
    );
}

/// September: more orders wait than a page lists. The queue page counts
/// every class and lists a class's pupils when asked, not all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_page_counts_hundreds_waiting_by_class_and_lists_one_class() {
    let w = WebStation::start(SimConfig::default(), |s| s.queue.mode = QueueMode::Batch).await;
    let base = &w.base;
    let store = legitka::records::store::Store::open(&w.h.db(), &w.h.settings.station)
        .await
        .unwrap();
    for i in 0..320 {
        let o = common::records::valid_with(i, |v| {
            v["student"]["class"] = if i % 4 == 0 { "1a" } else { "2b" }.into();
        });
        store.offer(&o).await.unwrap();
    }
    let anna = client();
    log_in(&anna, base, "anna", PASSWORD).await;
    let (status, html) = page(&anna, format!("{base}/kolejka")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Czekają na druk (320)"),
        "every order counted"
    );
    assert!(html.contains("Klasa 1a · 80") && html.contains("Klasa 2b · 240"));
    assert_eq!(
        html.matches(r#"name="order""#).count(),
        0,
        "no pupil listed"
    );
    assert!(html.contains("/kolejka?klasa=1a"));
    let (_, html) = page(&anna, format!("{base}/kolejka?klasa=1a")).await;
    assert_eq!(
        html.matches(r#"name="order""#).count(),
        80,
        "class 1a listed"
    );
    assert!(
        html.contains("Pokaż uczniów klasy 2b"),
        "the other class folded"
    );
    assert!(html.contains("Czekają na druk (320)"));
}
