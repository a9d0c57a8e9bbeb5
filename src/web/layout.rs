//! The frame every page shares: the menu, who is logged in, the message an
//! action left, the live printer badge; and the headers every answer carries.

use super::auth::Page;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{html, Markup, DOCTYPE};

const FLASH_COOKIE: &str = "legitka_flash";

/// A message from the action that redirected to this page.
#[derive(Debug, Clone)]
pub struct Flash {
    pub ok: bool,
    pub text: String,
}

impl Flash {
    pub fn from_jar(jar: &CookieJar) -> Option<Flash> {
        let raw = jar.get(FLASH_COOKIE)?.value().to_string();
        let mut ok = true;
        let mut text = None;
        for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
            match &*k {
                "k" => ok = v == "ok",
                "m" => text = Some(v.into_owned()),
                _ => {}
            }
        }
        Some(Flash { ok, text: text? })
    }
}

/// Redirects to `to` with a message shown there once (Post/Redirect/Get:
/// reloading the page does not repeat the action).
pub fn redirect(to: &str, ok: bool, text: &str) -> Response {
    let value: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("k", if ok { "ok" } else { "err" })
        .append_pair("m", text)
        .finish();
    let cookie = format!("{FLASH_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=120");
    let mut r = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// Headers on every answer: no caching of children's data, no framing, no
/// scripts but ours; and a shown message is cleared.
pub async fn security_headers(
    axum::extract::State(app): axum::extract::State<super::App>,
    req: Request,
    next: Next,
) -> Response {
    // A page on another site whose name was made to point at this station
    // (DNS rebinding) reaches it as same-origin: it is known by the Host it
    // sends. Browsers always send one.
    if let Some(host) = req.headers().get(header::HOST) {
        if !host_allowed(host.to_str().unwrap_or(""), &app.0.host_names) {
            tracing::warn!(host = ?host, "request for a host name this station does not answer to");
            return (
                StatusCode::MISDIRECTED_REQUEST,
                bare(
                    "Nieznany adres",
                    "Stacja odpowiada tylko pod swoim adresem IP, nazwą tego komputera i nazwami wpisanymi w [http] host_names.",
                ),
            )
                .into_response();
        }
    }
    let had_flash = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|s| s.contains(FLASH_COOKIE)));
    let static_file = req.uri().path().starts_with("/static/");
    let mut r = next.run(req).await;
    let shown = r.status() == StatusCode::OK;
    let h = r.headers_mut();
    if !static_file {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    if app.0.secure_cookies {
        // Served over TLS (here or at the proxy): the browser is to come
        // back only over TLS.
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if had_flash && shown && !static_file {
        h.append(
            header::SET_COOKIE,
            HeaderValue::from_static(
                "legitka_flash=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict",
            ),
        );
    }
    r
}

/// Whether a Host header names this station: an IP address (v4, or v6 in
/// brackets), or one of its names; any port.
pub(crate) fn host_allowed(host: &str, names: &[String]) -> bool {
    let host = host.trim().to_ascii_lowercase();
    if let Some(rest) = host.strip_prefix('[') {
        return rest
            .split(']')
            .next()
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok());
    }
    let name = host.rsplit_once(':').map_or(host.as_str(), |(n, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            n
        } else {
            ""
        }
    });
    let name = name.strip_suffix('.').unwrap_or(name);
    name.parse::<std::net::Ipv4Addr>().is_ok() || names.iter().any(|n| n == name)
}

/// The menu: (path, label, admins only).
const MENU: &[(&str, &str, bool)] = &[
    ("/", "Pulpit", false),
    ("/kolejka", "Kolejka", false),
    ("/sprawdzenie", "Do sprawdzenia", false),
    ("/rejestr", "Rejestr", false),
    ("/hologramy", "Hologramy", false),
    ("/druki", "Druki", false),
    ("/raporty", "Raporty", false),
    ("/drukarka", "Drukarka", true),
    ("/konta", "Konta", true),
    ("/dziennik", "Dziennik", false),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " — legitka" }
            link rel="stylesheet" href=(super::assets::url("style.css"));
            link rel="icon" href=(super::assets::url("icon.svg")) type="image/svg+xml";
            script src=(super::assets::url("app.js")) defer {}
        }
    }
}

/// A page of the station for a logged-in person; `here` is its menu path.
pub fn page(p: &Page, here: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="pl" {
            (head(title))
            body {
                a.skip href="#tresc" { "Przejdź do treści" }
                header.top {
                    span.brand { "legitka" }
                    nav aria-label="Menu" {
                        ul {
                            @for (path, label, admin) in MENU {
                                @if !admin || p.user.role.is_admin() {
                                    li { a href=(path) aria-current=[(*path == here).then_some("page")] { (label) } }
                                }
                            }
                        }
                    }
                    div.who {
                        span #badge class={ "badge " (p.badge.1) } { (p.badge.0) }
                        span.name title=(p.user.name) { (p.user.name) }
                        form method="post" action="/wyloguj" {
                            (csrf(p))
                            button.link type="submit" { "Wyloguj" }
                        }
                    }
                }
                main #tresc tabindex="-1" {
                    h1 { (title) }
                    @if let Some(f) = &p.flash {
                        p.flash.ok[f.ok].error[!f.ok] role=(if f.ok { "status" } else { "alert" }) { (f.text) }
                    }
                    (body)
                }
            }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf(p: &Page) -> Markup {
    html! { input type="hidden" name="_csrf" value=(p.csrf); }
}

/// A page without the menu (login, errors).
pub fn bare_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="pl" {
            (head(title))
            body.bare { (body) }
        }
    }
}

pub fn bare(title: &str, text: &str) -> Markup {
    bare_page(
        title,
        html! {
            main.login {
                h1 { (title) }
                p { (text) }
                p { a href="/" { "Wróć do pulpitu" } }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_addresses_and_the_stations_own_names_are_answered() {
        let names = vec!["localhost".to_string(), "sekretariat".to_string()];
        for ok in [
            "127.0.0.1:8080",
            "192.0.2.10",
            "[::1]:8080",
            "localhost:8080",
            "Sekretariat",
            "sekretariat.:80",
        ] {
            assert!(super::host_allowed(ok, &names), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "",
            "[nope]:1",
            "sekretariat:abc",
        ] {
            assert!(!super::host_allowed(bad, &names), "{bad}");
        }
    }
}
