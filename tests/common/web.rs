//! A station serving its web page on a free port, with three accounts (an
//! operator, an administrator, an auditor) added by the `legitka user`
//! command, and orders from the central system.

use super::cli::add_user;
use super::Harness;
use legitka::settings::Settings;
use legitka_sim::SimConfig;
use std::path::PathBuf;

pub const PASSWORD: &str = "Zażółć-gęślą-2025";

pub struct WebStation {
    pub h: Harness,
    pub base: String,
    pub config: PathBuf,
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl WebStation {
    pub async fn start(sim: SimConfig, tweak: impl FnOnce(&mut Settings)) -> Self {
        let port = free_port();
        let h = Harness::start_full(sim, |s| {
            s.http.listen = format!("127.0.0.1:{port}");
            tweak(s);
        })
        .await;
        let config = h.dir.path().join("legitka.toml");
        super::write_config(&h.settings, &config);
        add_user(&config, "anna", "Anna Kowalska", "operator", PASSWORD);
        add_user(&config, "adam", "Adam Nowak", "admin", PASSWORD);
        add_user(&config, "ewa", "Ewa Wiśniewska", "auditor", PASSWORD);
        let base = format!("http://127.0.0.1:{port}");
        // The page is served once the station is online; wait for the port.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        WebStation { h, base, config }
    }
}

/// The full PESELs of sample orders `0..n`: none may appear on a list page.
pub fn pesels(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            legitka::card::sample::order(i)["student"]["pesel"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// The value of the first `name="_csrf"` field in a page.
pub fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"_csrf\"")
        .expect("a form with a CSRF field");
    let rest = &html[at..];
    let v = rest.find("value=\"").unwrap() + 7;
    rest[v..v + rest[v..].find('"').unwrap()].to_string()
}

/// A client that keeps cookies and does not follow redirects (a login's
/// redirect says how it went).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The login form's CSRF token, its cookie kept by the client.
pub async fn login_csrf(c: &reqwest::Client, base: &str) -> String {
    let form = c
        .get(format!("{base}/logowanie"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    csrf_of(&form)
}

/// Logs in through the form, as a browser does: the form's page first
/// (its CSRF cookie and field), then the post. Returns where it redirected.
pub async fn log_in(
    c: &reqwest::Client,
    base: &str,
    login: &str,
    password: &str,
) -> (String, Vec<String>) {
    let csrf = login_csrf(c, base).await;
    let r = c
        .post(format!("{base}/logowanie"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("login", login),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let cookies = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    (
        r.headers()["location"].to_str().unwrap().to_string(),
        cookies,
    )
}

pub async fn page(c: &reqwest::Client, url: String) -> (reqwest::StatusCode, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}
