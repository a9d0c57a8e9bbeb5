//! Issue 17: what a security review of the station found, each point tried
//! the way it was found (over HTTP where it is HTTP, with the real daemon,
//! broker and simulator), and shown closed.

mod common;

use common::web::{client, csrf_of, log_in, page, WebStation, PASSWORD};
use legitka::records::store::{QueueMode, Store};
use legitka_sim::SimConfig;
use reqwest::StatusCode;
use std::net::IpAddr;
use std::time::Duration;

/// Counts what this thread allocates, so that one test can measure the
/// memory a parse takes while others run on other threads.
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Counting;

    thread_local! {
        static NOW: Cell<usize> = const { Cell::new(0) };
        static PEAK: Cell<usize> = const { Cell::new(0) };
    }

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(l) };
            if !p.is_null() {
                let _ = NOW.try_with(|n| {
                    n.set(n.get() + l.size());
                    let _ = PEAK.try_with(|p| p.set(p.get().max(n.get())));
                });
            }
            p
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            unsafe { System.dealloc(p, l) };
            let _ = NOW.try_with(|n| n.set(n.get().saturating_sub(l.size())));
        }
    }

    /// The most this thread held at once while `f` ran, above what it held before.
    pub fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let base = NOW.with(|n| n.get());
        PEAK.with(|p| p.set(base));
        let out = f();
        (out, PEAK.with(|p| p.get()) - base)
    }
}

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

fn count_events(h: &common::Harness, kind: &str) -> Vec<serde_json::Value> {
    h.central
        .seen
        .iter()
        .filter(|e| e["type"] == kind)
        .cloned()
        .collect()
}

/// A client whose connections come from `ip` (any of 127/8 is this machine).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// Reads a live stream until it ends (`true`) or `within` passes (`false`);
/// what it sent meanwhile.
async fn ends_within(r: &mut reqwest::Response, within: Duration) -> (bool, String) {
    let deadline = tokio::time::Instant::now() + within;
    let mut got = String::new();
    loop {
        match tokio::time::timeout_at(deadline, r.chunk()).await {
            Err(_) => return (false, got),
            Ok(Ok(Some(b))) => got.push_str(&String::from_utf8_lossy(&b)),
            Ok(_) => return (true, got),
        }
    }
}

/// Point 1: the live dashboard ends with its session (logout, disable).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_ends_when_its_session_ends() {
    let w = WebStation::start(SimConfig::default(), |_| {}).await;
    let base = &w.base;
    // Logged out from the page.
    let c = client();
    log_in(&c, base, "anna", PASSWORD).await;
    let mut live = c.get(format!("{base}/na-zywo")).send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let first = tokio::time::timeout(Duration::from_secs(10), live.chunk())
        .await
        .expect("the stream sends at once")
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event:"));
    // What the stream sends as it opens is not what follows the logout.
    let _ = ends_within(&mut live, Duration::from_millis(1500)).await;
    let (_, home) = page(&c, format!("{base}/")).await;
    let r = c
        .post(format!("{base}/wyloguj"))
        .form(&[("_csrf", csrf_of(&home))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (ended, after) = ends_within(&mut live, Duration::from_secs(8)).await;
    assert!(ended, "the stream outlived the logout; it sent: {after}");

    // An account disabled by the administrator: its open stream ends too.
    let c = client();
    log_in(&c, base, "ewa", PASSWORD).await;
    let mut live = c.get(format!("{base}/na-zywo")).send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    common::cli::ok(&w.config, &["user", "disable", "ewa"]);
    let (ended, _) = ends_within(&mut live, Duration::from_secs(8)).await;
    assert!(ended, "a disabled account's stream goes on");
    w.h.stop().await;
}

/// Points 2 and 3: a login is bounded before anything reads it, and a
/// refused one is never written down verbatim (a password typed into the
/// login field would be read by every role in the audit log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_or_unknown_login_is_refused_unkept() {
    let w = WebStation::start(SimConfig::default(), |_| {}).await;
    let base = &w.base;
    let c = client();
    let csrf = common::web::login_csrf(&c, base).await;
    // 1.5 MB of login: not read at all.
    let huge = "Ż".repeat(750_000);
    let r = c
        .post(format!("{base}/logowanie"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("login", &huge),
            ("password", "x"),
        ])
        .send()
        .await;
    // Refused unread: 413, or the connection closed while it was sent.
    assert!(
        r.as_ref()
            .map_or(true, |r| r.status() == StatusCode::PAYLOAD_TOO_LARGE),
        "{r:?}"
    );
    // A password typed into the login field, and an unknown login.
    let secret = "Tajne-Hasło-Sekretariatu-2026";
    for login in [secret, "kasia"] {
        let (to, _) = log_in(&c, base, login, "whatever-it-is").await;
        assert_eq!(to, "/logowanie?blad=haslo");
    }
    // A known account's login is recorded, as before.
    let (to, _) = log_in(&c, base, "anna", "wrong-password").await;
    assert_eq!(to, "/logowanie?blad=haslo");

    let store = Store::open(&w.h.db(), &w.h.settings.station).await.unwrap();
    let log = store.audit_entries(None, 100).await.unwrap();
    let refused: Vec<_> = log.iter().filter(|e| e.action == "login.refused").collect();
    assert_eq!(refused.len(), 3, "{log:?}");
    assert_eq!(
        refused.iter().filter(|e| e.login == "?").count(),
        2,
        "{refused:?}"
    );
    assert!(refused.iter().any(|e| e.login == "anna"));
    for e in &log {
        let line = format!("{e:?}").to_lowercase();
        assert!(
            !line.contains("tajne") && !line.contains("kasia") && !line.contains('ż'),
            "{line}"
        );
    }
    // The log page the auditor reads stays small.
    let adam = client();
    log_in(&adam, base, "adam", PASSWORD).await;
    let (s, dziennik) = page(&adam, format!("{base}/dziennik")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!dziennik.to_lowercase().contains("tajne"));
    assert!(dziennik.len() < 100_000, "{} bytes", dziennik.len());
    // Nor is it anywhere in the database.
    store.checkpoint().await.unwrap();
    let db = std::fs::read(w.h.db()).unwrap();
    assert!(
        memchr::memmem::find(&db, secret.as_bytes()).is_none(),
        "the typed text is in the database file"
    );
    w.h.stop().await;
}

/// Point 4: only failures count, per address: a right password is never
/// spent by guesses, and one machine's guesses lock out only that machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_failures_count_and_only_against_their_address() {
    let w = WebStation::start(SimConfig::default(), |_| {}).await;
    let base = &w.base;
    // Ten good logins in a minute: all in (the old per-login limit spent
    // one attempt per login, good or bad, and refused the sixth).
    for i in 0..10 {
        let (to, _) = log_in(&client(), base, "anna", PASSWORD).await;
        assert_eq!(to, "/", "login {i}");
    }
    // Five wrong guesses from one machine...
    let guesser = client_from("127.0.0.2");
    for _ in 0..legitka::web::FAILURES_ALLOWED {
        let (to, _) = log_in(&guesser, base, "adam", "wrong-password").await;
        assert_eq!(to, "/logowanie?blad=haslo");
    }
    // ... hold that machine back, even with the right password ...
    let (to, _) = log_in(&guesser, base, "adam", PASSWORD).await;
    assert_eq!(to, "/logowanie?blad=limit");
    // ... and nobody else: the administrator logs in from the office.
    let (to, _) = log_in(&client_from("127.0.0.3"), base, "adam", PASSWORD).await;
    assert_eq!(to, "/", "one address locked the account for everyone");
    w.h.stop().await;
}

/// Point 5: a proxy in front of every address is refused at start.
#[tokio::test]
async fn the_station_refuses_a_proxy_setup_that_serves_the_network_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = common::settings(dir.path(), "unused");
    settings.printer.uri = "sim".into();
    settings.http.listen = format!("0.0.0.0:{}", common::web::free_port());
    let config = dir.path().join("legitka.toml");
    common::write_config(&settings, &config);
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str("behind_proxy = true\n");
    std::fs::write(&config, toml).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_legitka"))
        .args(["daemon", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plain HTTP to the whole network"), "{err}");
}

/// Point 6: connections that send nothing are closed, and no more than
/// `max_connections` are ever taken in; the page is served again after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_time_out_and_never_take_more_than_the_limit() {
    let w = WebStation::start(SimConfig::default(), |s| {
        s.http.max_connections = 16;
        s.http.header_timeout_seconds = 2;
    })
    .await;
    let addr = w.base.trim_start_matches("http://").to_string();
    let fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let before = fds();
    let mut idle = Vec::new();
    for _ in 0..60 {
        idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // This process holds both ends: 60 clients, and what the station took.
    // Other tests in this binary open files meanwhile: some slack.
    let taken = fds().saturating_sub(before + 60);
    assert!(
        taken <= 16 + 12,
        "the station took {taken} of 60 idle connections (limit 16)"
    );
    // Each is closed after the header timeout, and the page answers.
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 16];
    let closed = tokio::time::timeout(Duration::from_secs(6), idle[0].read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "an idle connection is still open after 6 s: {closed:?}"
    );
    let r = tokio::time::timeout(
        Duration::from_secs(30),
        client().get(format!("{}/logowanie", w.base)).send(),
    )
    .await
    .expect("the page answers once the idle ones are gone")
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    drop(idle);
    w.h.stop().await;
}

/// Point 7: previews of 40-megapixel photos are decoded a few at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_of_huge_photos_are_decoded_a_few_at_a_time() {
    let mut w = WebStation::start(SimConfig::default(), |s| {
        s.queue.mode = QueueMode::Batch;
    })
    .await;
    // A 40-megapixel colour photo (a smooth picture compresses to little).
    let (width, height) = (5000u32, 8000u32);
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x / 20) as u8, (y / 32) as u8, 128])
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 40)
        .encode_image(&img)
        .unwrap();
    drop(img);
    let jpeg = jpeg.into_inner();
    assert!(jpeg.len() < 5_000_000, "{} bytes", jpeg.len());
    use base64::Engine;
    use sha2::Digest;
    let mut order = legitka::card::sample::order(0);
    order["photo"]["data"] = base64::engine::general_purpose::STANDARD
        .encode(&jpeg)
        .into();
    order["photo"]["sha256"] = hex::encode(sha2::Sha256::digest(&jpeg)).into();
    let id = order["order_id"].as_str().unwrap().to_string();
    w.h.central.send_order(&order).await;
    w.h.wait_for(&id, "order.accepted").await;

    let c = client();
    log_in(&c, &w.base, "ewa", PASSWORD).await;
    let hwm = || {
        let s = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = s.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    };
    let before = hwm();
    let asks: Vec<_> = (0..10)
        .map(|_| c.get(format!("{}/podglad/{id}", w.base)).send())
        .collect();
    let answers = futures_util::future::join_all(asks).await;
    let statuses: Vec<_> = answers
        .iter()
        .map(|r| r.as_ref().unwrap().status())
        .collect();
    // Served in turn, or (after waiting its turn too long) asked to retry.
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count() >= 2,
        "{statuses:?}"
    );
    let grew = hwm().saturating_sub(before);
    eprintln!(
        "10 previews of a 40 MP photo: peak grew {} MB; {statuses:?}",
        grew / 1_000_000
    );
    // One preview holds the decoded photo twice (240 MB); ten at once held
    // 2.4 GB. Two at a time stay well under a gigabyte.
    assert!(
        grew < 1_000_000_000,
        "peak memory grew {} MB for 10 previews",
        grew / 1_000_000
    );
    w.h.stop().await;
}

/// Point 8: another site's name (DNS rebinding) is refused, addresses and
/// the station's names are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_asked_for_under_another_name_is_refused() {
    let w = WebStation::start(SimConfig::default(), |s| {
        s.http.host_names = vec!["legitka.sp7.local".into()];
    })
    .await;
    let port = w.base.rsplit(':').next().unwrap().to_string();
    let c = client();
    for (host, status) in [
        (
            format!("evil.example:{port}"),
            StatusCode::MISDIRECTED_REQUEST,
        ),
        (format!("127.0.0.1:{port}"), StatusCode::OK),
        (format!("localhost:{port}"), StatusCode::OK),
        (format!("legitka.sp7.local:{port}"), StatusCode::OK),
    ] {
        let r = c
            .get(format!("{}/logowanie", w.base))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{host}");
    }
    w.h.stop().await;
}

/// Point 9: API tokens expire, are listed and revoked, and end with a new
/// password; a disabled account can be enabled again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_expire_are_revoked_and_end_with_the_password() {
    let w = WebStation::start(SimConfig::default(), |_| {}).await;
    let base = &w.base;
    let api = |token: String| {
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{base}/api/v1/orders"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let token = |days: &str| {
        common::cli::ok(&w.config, &["user", "token", "anna", "--days", days])
            .trim()
            .to_string()
    };
    let first = token("30");
    let second = token("90");
    assert_eq!(api(first.clone()).await, StatusCode::OK);
    let list = common::cli::ok(&w.config, &["user", "tokens", "anna"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(
        !list.contains(&first) && !list.contains(&second),
        "tokens are never shown again"
    );
    let first_id = list
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()[1..]
        .to_string();
    common::cli::ok(
        &w.config,
        &["user", "tokens", "anna", "--revoke", &first_id],
    );
    assert_eq!(api(first).await, StatusCode::UNAUTHORIZED, "revoked");
    assert_eq!(api(second.clone()).await, StatusCode::OK);
    // Expired: its date passed.
    let store = Store::open(&w.h.db(), &w.h.settings.station).await.unwrap();
    let third = token("1");
    assert_eq!(api(third.clone()).await, StatusCode::OK);
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", w.h.db().display()))
        .await
        .unwrap();
    sqlx::query("UPDATE api_tokens SET expires_at = '2020-01-01T00:00:00.000Z' WHERE rowid = (SELECT MAX(rowid) FROM api_tokens)")
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(api(third).await, StatusCode::UNAUTHORIZED, "expired");
    let list = common::cli::ok(&w.config, &["user", "tokens", "anna"]);
    assert!(list.contains("expired"), "{list}");
    // A new password ends every token.
    let mut passwd = std::process::Command::new(env!("CARGO_BIN_EXE_legitka"))
        .args(["user", "passwd", "anna", "--password-stdin", "--config"])
        .arg(&w.config)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(passwd.stdin.take().unwrap(), "Nowe-Hasło-Anny-2026").unwrap();
    assert!(passwd.wait().unwrap().success());
    assert_eq!(
        api(second).await,
        StatusCode::UNAUTHORIZED,
        "ended by passwd"
    );
    // Disabled, then enabled: the account logs in again.
    common::cli::ok(&w.config, &["user", "disable", "adam"]);
    let (to, _) = log_in(&client(), base, "adam", PASSWORD).await;
    assert_eq!(to, "/logowanie?blad=haslo");
    common::cli::ok(&w.config, &["user", "enable", "adam"]);
    let (to, _) = log_in(&client(), base, "adam", PASSWORD).await;
    assert_eq!(to, "/");
    let log = store.audit_entries(None, 50).await.unwrap();
    for action in ["user.token_revoke", "user.enable"] {
        assert!(log.iter().any(|e| e.action == action), "{action}: {log:?}");
    }
    w.h.stop().await;
}

/// Point 10: a formula never reaches a spreadsheet as a formula, and a
/// student id is an id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_exports_carry_no_formulas_and_ids_are_ids() {
    let mut w = WebStation::start(SimConfig::default(), |s| {
        // Who the queue records as operator: typed by an installer.
        s.printer.operator = Some("=HYPERLINK(\"http://evil.example\",\"x\")".into());
    })
    .await;
    let mut bad = legitka::card::sample::order(1);
    bad["student"]["id"] = "=HYPERLINK(\"http://evil.example\")".into();
    let bad_id = bad["order_id"].as_str().unwrap().to_string();
    w.h.central.send_order(&bad).await;
    let rejected = w.h.wait_for(&bad_id, "order.rejected").await;
    assert_eq!(rejected["field"], "student.id", "{rejected}");
    let mut minus = legitka::card::sample::order(2);
    minus["card"]["number"] = "-5/2026".into();
    let id = minus["order_id"].as_str().unwrap().to_string();
    w.h.central.send_order(&minus).await;
    w.h.wait_for(&id, "card.printed").await;

    let out = w.h.dir.path().join("rejestr.csv");
    common::cli::ok(&w.config, &["register", "--out", out.to_str().unwrap()]);
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(csv.contains("'-5/2026"), "{csv}");
    for cell in csv.split([',', ';', '\n']) {
        let cell = cell.trim_matches('"');
        assert!(
            !cell.starts_with(['=', '+', '-', '@']),
            "a live formula: {cell}"
        );
    }
    let c = client();
    log_in(&c, &w.base, "anna", PASSWORD).await;
    let report = c
        .get(format!(
            "{}/raporty/pobierz?rodzaj=rejestr&format=csv",
            w.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), StatusCode::OK);
    let text = report.text().await.unwrap();
    assert!(text.contains("'-5/2026"), "{text}");
    for cell in text.split([';', '\n']) {
        let cell = cell.trim_matches('"');
        assert!(
            !cell.starts_with(['=', '+', '-', '@']),
            "a live formula: {cell}"
        );
    }
    w.h.stop().await;
}

/// Point 11: a class's name does not break the download's header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_named_with_a_quote_downloads_under_a_safe_name() {
    let mut w = WebStation::start(SimConfig::default(), |_| {}).await;
    let mut o = legitka::card::sample::order(3);
    o["student"]["class"] = "4\"a".into();
    let id = o["order_id"].as_str().unwrap().to_string();
    w.h.central.send_order(&o).await;
    w.h.wait_for(&id, "card.printed").await;
    let c = client();
    log_in(&c, &w.base, "anna", PASSWORD).await;
    let r = c
        .get(format!(
            "{}/raporty/pobierz?rodzaj=odbior&klasa=4%22a&format=csv",
            w.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-disposition"].to_str().unwrap(),
        "attachment; filename=\"odbior-klasa-4_a.csv\""
    );
    let csv = r.text().await.unwrap();
    assert!(
        csv.contains(o["student"]["last_name"].as_str().unwrap()),
        "{csv}"
    );
    w.h.stop().await;
}

/// Point 12: what the commands write is the user's own, whatever the umask.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_exports_proofs_and_renders_are_written_0600() {
    use std::os::unix::fs::PermissionsExt;
    let mut h = common::Harness::start().await;
    let ids = h.send_orders(0, 1).await;
    h.wait_for(&ids[0], "card.printed").await;
    let config = h.dir.path().join("legitka.toml");
    common::write_config(&h.settings, &config);
    let out = h.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // One already there, readable by all: it becomes private too.
    std::fs::write(out.join("rejestr.pdf"), b"old").unwrap();
    std::fs::set_permissions(
        out.join("rejestr.pdf"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let order = out.join("order.json");
    std::fs::write(&order, legitka::card::sample::order(0).to_string()).unwrap();
    let o = |p: &str| out.join(p).to_str().unwrap().to_string();
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    common::cli::ok(&config, &["report", "register", "--out", &o("rejestr.pdf")]);
    common::cli::ok(&config, &["register", "--out", &o("rejestr.csv")]);
    let render = std::process::Command::new(env!("CARGO_BIN_EXE_legitka"))
        .args(["render", order.to_str().unwrap(), "--out", &o("karta")])
        .output()
        .unwrap();
    assert!(render.status.success(), "{render:?}");
    let mut files = vec![out.join("rejestr.pdf"), out.join("rejestr.csv")];
    for f in std::fs::read_dir(out.join("karta")).unwrap() {
        files.push(f.unwrap().path());
    }
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", f.display());
    }
    let dir_mode = std::fs::metadata(out.join("karta"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
    h.stop().await;
}

/// Points 13 and 16: a revocation takes the PESEL with the photo; the
/// operator discards the hold (recorded, answered), and the names leave
/// the file at once, even done from the command line with the station down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_hold_keeps_no_pesel_and_is_discarded_on_the_record() {
    let mut h = common::Harness::start_with(|s| s.queue.mode = QueueMode::Batch).await;
    let mut o = legitka::card::sample::order(4);
    o["student"]["last_name"] = "Zażółćgęśląjaźńska".into();
    let pesel = o["student"]["pesel"].as_str().unwrap().to_string();
    let student = o["student"]["id"].as_str().unwrap().to_string();
    let id = o["order_id"].as_str().unwrap().to_string();
    h.central.send_order(&o).await;
    h.wait_for(&id, "order.accepted").await;
    h.central.send_revoke(&student).await;
    h.wait_for(&id, "order.held").await;
    let h = h.stop().await;
    let config = h.dir.path().join("legitka.toml");
    common::write_config(&h.settings, &config);
    let file = || {
        let mut b = std::fs::read(h.db()).unwrap();
        b.extend(std::fs::read(h.db().with_extension("db-wal")).unwrap_or_default());
        b
    };
    let has = |b: &[u8], s: &str| memchr::memmem::find(b, s.as_bytes()).is_some();
    assert!(!has(&file(), &pesel), "the held order kept the PESEL");
    assert!(
        has(&file(), "Zażółćgęśląjaźńska"),
        "the names wait for the operator"
    );
    // Only a revoked hold is discarded.
    common::cli::refused(
        &config,
        &[
            "discard",
            "00000000-0000-4000-8000-000000000000",
            "--operator",
            "anna",
        ],
        "no order",
    );
    let out = common::cli::ok(&config, &["discard", &id, "--operator", "Anna Kowalska"]);
    assert!(out.contains("discarded"), "{out}");
    assert!(
        !has(&file(), "Zażółćgęśląjaźńska"),
        "the discarded order's names are still in the file"
    );
    let store = Store::open(&h.db(), &h.settings.station).await.unwrap();
    let events = common::records::events(&store).await;
    assert!(
        events.iter().any(|(k, e)| k == "order.rejected"
            && e["order_id"] == id.as_str()
            && e["code"] == "discarded"),
        "{events:?}"
    );
    let log = store.audit_entries(None, 20).await.unwrap();
    assert!(log
        .iter()
        .any(|e| e.action == "hold.discard" && e.target.as_deref() == Some(id.as_str())));
    common::cli::refused(
        &config,
        &["discard", &id, "--operator", "anna"],
        "not held for a revoked photo",
    );
}

/// Point 14: a cancelled order keeps only what recognises its redelivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_order_keeps_only_what_recognises_it() {
    let mut h = common::Harness::start_with(|s| s.queue.mode = QueueMode::Batch).await;
    let mut o = legitka::card::sample::order(5);
    o["student"]["last_name"] = "Kancelowana-Źdźbłowska".into();
    o["student"]["class"] = "7z".into();
    let id = o["order_id"].as_str().unwrap().to_string();
    h.central.send_order(&o).await;
    h.wait_for(&id, "order.accepted").await;
    h.central.send_cancel(&id).await;
    h.wait_for(&id, "order.cancelled").await;
    // Redelivered: known, not queued again.
    h.central.send_order(&o).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let h = h.stop().await;
    let store = Store::open(&h.db(), &h.settings.station).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", h.db().display()))
        .await
        .unwrap();
    let row: (String, String, String, String, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT status, data, student_id, card_number, photo FROM orders WHERE order_id = ?",
    )
    .bind(&id)
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(row.0, "cancelled");
    assert_eq!(
        (row.1.as_str(), row.2.as_str(), row.3.as_str()),
        ("{}", "", "")
    );
    assert!(row.4.is_none());
    assert_eq!(
        count_events(&h, "order.accepted").len(),
        1,
        "the redelivery is not a new order"
    );
    store.checkpoint().await.unwrap();
    let db = std::fs::read(h.db()).unwrap();
    assert!(memchr::memmem::find(&db, "Kancelowana".as_bytes()).is_none());
}

/// Point 15: orders not printed in time are deleted and answered, old audit
/// lines and sent events pruned, by the daemon itself; the page says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_deletes_what_it_kept_too_long_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = common::settings(dir.path(), "unused");
    settings.printer.uri = "sim".into();
    let port = common::web::free_port();
    settings.http.listen = format!("127.0.0.1:{port}");
    let config = dir.path().join("legitka.toml");
    common::write_config(&settings, &config);
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str("[queue]\nmode = \"batch\"\n[retention]\norder_days = 30\naudit_months = 12\n");
    std::fs::write(&config, toml).unwrap();
    common::cli::add_user(&config, "anna", "Anna Kowalska", "operator", PASSWORD);
    let mut central = common::central(&settings).await;
    let mut first = common::daemon(&config, &dir.path().join("first.log"));
    let _first_guard = common::kill_on_panic(first.id());
    central
        .wait_state(Duration::from_secs(60), |s| s["online"] == true)
        .await
        .expect("daemon online");
    let orders: Vec<_> = (0..40).map(legitka::card::sample::order).collect();
    let ids = common::send_accepted(&mut central, &orders).await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    first.wait().unwrap();
    // Thirty of them came 31 days ago; the log and the events are 13 months old.
    let db = settings.db_path();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let old = (chrono::Utc::now() - chrono::Duration::days(31))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let ancient = (chrono::Utc::now() - chrono::Duration::days(400))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for id in &ids[..30] {
        sqlx::query("UPDATE orders SET received_at = ? WHERE order_id = ?")
            .bind(&old)
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
    }
    let stale_audit = sqlx::query("UPDATE audit SET at = ?")
        .bind(&ancient)
        .execute(&pool)
        .await
        .unwrap()
        .rows_affected();
    assert!(stale_audit > 0);
    sqlx::query("UPDATE outbox SET sent_at = ? WHERE sent_at IS NOT NULL")
        .bind(&ancient)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let pesels: Vec<String> = orders[..30]
        .iter()
        .map(|o| o["student"]["pesel"].as_str().unwrap().to_string())
        .collect();

    let mut second = common::daemon(&config, &dir.path().join("second.log"));
    let _second_guard = common::kill_on_panic(second.id());
    let expired = central
        .wait_count("order.rejected", 30, Duration::from_secs(60))
        .await;
    assert_eq!(expired, 30);
    for id in &ids[..30] {
        let e = central.events_for(id, "order.rejected").next().unwrap();
        assert_eq!(e["code"], "expired", "{e}");
    }
    assert!(
        central
            .wait_count("photo.purged", 30, Duration::from_secs(30))
            .await
            >= 30
    );
    // The page says what the rules are and what they removed.
    let c = client();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let base = format!("http://127.0.0.1:{port}");
    log_in(&c, &base, "anna", PASSWORD).await;
    let (_, pulpit) = page(&c, format!("{base}/")).await;
    assert!(pulpit.contains("w ciągu 30 dni"), "{pulpit}");
    assert!(pulpit.contains("zamówień 30"), "{pulpit}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(second.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    second.wait().unwrap();
    let store = Store::open(&db, &settings.station).await.unwrap();
    let waiting = store.order_lines(&["queued"]).await.unwrap();
    assert_eq!(waiting.len(), 10, "the ten recent orders wait on");
    let log = store.audit_entries(None, 1000).await.unwrap();
    assert!(log.iter().all(|e| e.at > ancient), "old audit lines remain");
    store.checkpoint().await.unwrap();
    let bytes = std::fs::read(&db).unwrap();
    for p in &pesels {
        assert!(
            memchr::memmem::find(&bytes, p.as_bytes()).is_none(),
            "PESEL {p} kept"
        );
    }
}

/// Point 17: a revocation dated ahead is refused and holds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_dated_in_the_future_is_refused() {
    let mut h = common::Harness::start_with(|s| s.queue.mode = QueueMode::Batch).await;
    let o = legitka::card::sample::order(6);
    let student = o["student"]["id"].as_str().unwrap().to_string();
    let ahead = (chrono::Utc::now() + chrono::Duration::hours(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    h.central.send_revoke_dated(&student, &ahead).await;
    assert!(
        h.central
            .wait_events(Duration::from_secs(30), |ev| ev
                .iter()
                .any(|e| e["type"] == "order.rejected" && e["field"] == "created_at"))
            .await,
        "{:?}",
        h.central.seen
    );
    let id = o["order_id"].as_str().unwrap().to_string();
    h.central.send_order(&o).await;
    h.wait_for(&id, "order.accepted").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        h.central.events_for(&id, "order.held").count(),
        0,
        "held by a future date"
    );
    h.stop().await;
}

/// Point 18: without keys, a message is parsed straight into its type: a
/// 9.8 MB array costs about itself, not twenty times itself.
#[test]
fn a_huge_unsigned_message_is_parsed_without_a_json_tree() {
    let mut msg = String::from(r#"{"type":"card.order","order_id":"x","pad":["#);
    while msg.len() < 9_800_000 {
        msg.push_str("1,");
    }
    msg.push_str("1]}");
    let keys = legitka::card::message::TrustedKeys::default();
    let (parsed, peak) = counting::peak_of(|| legitka::card::message::parse(msg.as_bytes(), &keys));
    let Err((_, r)) = parsed else {
        panic!("an order with no fields is refused")
    };
    assert_eq!(r.code.as_str(), "schema");
    eprintln!(
        "a {} byte message parsed with {peak} bytes at most",
        msg.len()
    );
    assert!(
        peak < 4_000_000,
        "parsing a {} MB message took {} MB",
        msg.len() / 1_000_000,
        peak / 1_000_000
    );
}

/// Point 19: while no key is set the Pulpit says unsigned orders are taken;
/// with `require_signed` and no key, nothing is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_orders_are_named_on_the_page_and_refused_when_required() {
    let w = WebStation::start(SimConfig::default(), |_| {}).await;
    let c = client();
    log_in(&c, &w.base, "anna", PASSWORD).await;
    let (_, pulpit) = page(&c, format!("{}/", w.base)).await;
    assert!(
        pulpit.contains("Zamówienia bez podpisu są przyjmowane"),
        "{pulpit}"
    );
    w.h.stop().await;

    let mut h = common::Harness::start_with(|s| s.require_signed = true).await;
    h.send_orders(0, 1).await;
    // Unverified, the message's order id is not echoed.
    assert!(
        h.central
            .wait_events(Duration::from_secs(30), |ev| ev.iter().any(|e| e["type"]
                == "order.rejected"
                && e["code"] == "signature_invalid"
                && e["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("require_signed")))
            .await,
        "{:?}",
        h.central.seen
    );
    assert_eq!(count_events(&h, "order.accepted").len(), 0);
    h.stop().await;
}

/// Point 8: served over TLS, the page tells the browser to come back only
/// over TLS (HSTS), and a client that never finishes its handshake is cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_page_sends_hsts_and_cuts_a_silent_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("web.pem"), dir.path().join("web.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, signing_key.serialize_pem()).unwrap();
    let w = WebStation::start(SimConfig::default(), |s| {
        s.http.tls_cert = Some(cert_path.clone());
        s.http.tls_key = Some(key_path.clone());
        s.http.header_timeout_seconds = 2;
    })
    .await;
    let url = w.base.replace("http://", "https://");
    let curl = tokio::process::Command::new("curl")
        .args([
            "-sk",
            "-o",
            "/dev/null",
            "-D",
            "-",
            &format!("{url}/logowanie"),
        ])
        .output()
        .await
        .expect("curl (Debian's package) runs");
    let headers = String::from_utf8_lossy(&curl.stdout).to_lowercase();
    assert!(headers.starts_with("http/"), "{headers}");
    assert!(
        headers.contains("strict-transport-security: max-age=31536000"),
        "{headers}"
    );
    // Connected, but never a ClientHello: closed within the timeout.
    use tokio::io::AsyncReadExt;
    let mut silent = tokio::net::TcpStream::connect(w.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let mut buf = [0u8; 8];
    let closed = tokio::time::timeout(Duration::from_secs(6), silent.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "a silent TLS client is still connected after 6 s: {closed:?}"
    );
    w.h.stop().await;
}

/// Point 15 at a school's size: a September's worth of orders left waiting
/// past the retention period are all deleted and answered, a few hundred to
/// a transaction; recent and possibly-printed ones stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_expires_a_septembers_worth_of_orders_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::records::store(&dir).await;
    let template = common::records::valid(0);
    let n = 2_000;
    for i in 0..n {
        let mut o = template.clone();
        o.data.order_id = uuid::Uuid::new_v4().to_string();
        o.data.card_number = format!("{}/2026", i + 1);
        o.data.student_id = format!("S-{i:06}");
        o.content_sha256 = format!("{i:064x}");
        store.offer(&o).await.unwrap();
    }
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("legitka.db").display()
    ))
    .await
    .unwrap();
    let old = (chrono::Utc::now() - chrono::Duration::days(61))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // All but the last 100 came two months ago; one of the old ones may
    // have printed (held for checking): only a person settles it.
    sqlx::query("UPDATE orders SET received_at = ? WHERE seq <= ?")
        .bind(&old)
        .bind(n - 100)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE orders SET status = 'held', hold_code = 'needs_check' WHERE seq = 1")
        .execute(&pool)
        .await
        .unwrap();
    let expired = store.expire_orders(60).await.unwrap();
    assert_eq!(expired, (n - 101) as i64);
    let (queued, held, left_data): (i64, i64, i64) = sqlx::query_as(
        "SELECT SUM(status = 'queued'), SUM(status = 'held'),
                SUM(status = 'cancelled' AND (data != '{}' OR photo IS NOT NULL))
           FROM orders",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((queued, held, left_data), (100, 1, 0));
    let events = common::records::events(&store).await;
    let rejected = events
        .iter()
        .filter(|(k, e)| k == "order.rejected" && e["code"] == "expired")
        .count();
    let purged = events.iter().filter(|(k, _)| k == "photo.purged").count();
    assert_eq!((rejected, purged), ((n - 101) as usize, (n - 101) as usize));
    assert_eq!(
        store.expire_orders(60).await.unwrap(),
        0,
        "a second pass finds nothing"
    );
}
