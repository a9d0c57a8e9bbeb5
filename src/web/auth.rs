//! Who is asking and what they may do: sessions (HttpOnly, SameSite=Strict
//! cookie), CSRF tokens on every form, API tokens, rate-limited logins.

use super::{layout, App, Refusal};
use crate::records::account::{self, Role, User};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use maud::html;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

pub const SESSION_COOKIE: &str = "legitka_session";
/// The login form's own CSRF token, before there is a session.
const LOGIN_COOKIE: &str = "legitka_login";

/// Login attempts. Every attempt counts against its address (a generous
/// limit: one address trying every account is slow); only failures count
/// against an (address, login) pair, so a wrong guess from one machine
/// never locks the account for the others, and a right password is never
/// spent by someone else's guesses.
pub struct Limits {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    failures: std::sync::Mutex<HashMap<(IpAddr, String), Failures>>,
}

/// Failures of one login from one address within the current window.
struct Failures {
    since: Instant,
    count: u32,
}

/// Failed logins from one address before it waits for the window's end.
pub const FAILURES_ALLOWED: u32 = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Pairs remembered at most: beyond this the oldest are forgotten first
/// (an address is still held by its own limit).
const FAILURES_KEPT: usize = 10_000;
/// The longest login an account can have (`account::check_login`): a longer
/// one is refused before it is looked at, kept, or written anywhere.
pub const MAX_LOGIN: usize = 32;
/// The largest login form read (a password is at most a few hundred bytes).
pub const LOGIN_FORM_BYTES: usize = 8 * 1024;

impl Limits {
    pub fn new() -> Self {
        let per_minute = |n| Quota::per_minute(NonZeroU32::new(n).expect("non-zero"));
        Limits {
            per_address: RateLimiter::keyed(per_minute(30)),
            failures: Default::default(),
        }
    }

    /// Whether this address may try this login now (an attempt is spent
    /// from the address's budget either way).
    fn may_try(&self, ip: IpAddr, login: &str) -> bool {
        if self.per_address.check_key(&ip).is_err() {
            return false;
        }
        let f = self.failures.lock().expect("not poisoned");
        match f.get(&(ip, login.to_string())) {
            Some(x) => x.since.elapsed() >= FAILURE_WINDOW || x.count < FAILURES_ALLOWED,
            None => true,
        }
    }

    fn failed(&self, ip: IpAddr, login: &str) {
        let mut f = self.failures.lock().expect("not poisoned");
        if f.len() >= FAILURES_KEPT {
            f.retain(|_, x| x.since.elapsed() < FAILURE_WINDOW);
            if f.len() >= FAILURES_KEPT {
                if let Some(oldest) = f
                    .iter()
                    .min_by_key(|(_, x)| x.since)
                    .map(|(k, _)| k.clone())
                {
                    f.remove(&oldest);
                }
            }
        }
        let x = f.entry((ip, login.to_string())).or_insert(Failures {
            since: Instant::now(),
            count: 0,
        });
        if x.since.elapsed() >= FAILURE_WINDOW {
            *x = Failures {
                since: Instant::now(),
                count: 0,
            };
        }
        x.count += 1;
    }

    fn succeeded(&self, ip: IpAddr, login: &str) {
        self.failures
            .lock()
            .expect("not poisoned")
            .remove(&(ip, login.to_string()));
    }

    /// Forgets what no longer limits anyone: keys would otherwise stay for
    /// the life of the process.
    pub fn forget_old(&self) {
        self.per_address.retain_recent();
        self.per_address.shrink_to_fit();
        let mut f = self.failures.lock().expect("not poisoned");
        f.retain(|_, x| x.since.elapsed() < FAILURE_WINDOW);
        f.shrink_to_fit();
    }

    /// Keys remembered (addresses, address-login pairs).
    #[cfg(test)]
    fn remembered(&self) -> (usize, usize) {
        (
            self.per_address.len(),
            self.failures.lock().expect("not poisoned").len(),
        )
    }
}

/// Forgets old login attempts every minute.
pub async fn forget_attempts(app: App) {
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
        app.0.limits.forget_old();
    }
}

/// A logged-in person on a page: who, and the token their forms carry.
pub struct Page {
    pub user: User,
    pub csrf: String,
    /// A message left by the action that redirected here.
    pub flash: Option<layout::Flash>,
    /// The printer's state for the header, as the page is drawn (kept
    /// current by the live stream afterwards).
    pub badge: (String, &'static str),
}

impl Page {
    pub fn may_change(&self) -> bool {
        self.user.role.may_change()
    }

    /// This person, as the records' changes and audit lines name them.
    pub fn actor(&self) -> crate::records::actor::Actor {
        crate::records::actor::Actor::account(&self.user, crate::records::actor::Via::Web)
    }
}

fn idle_secs(app: &App) -> i64 {
    (app.settings.http.session_idle_minutes.max(1) * 60) as i64
}

fn max_secs(app: &App) -> i64 {
    (app.settings.http.session_max_hours.max(1) * 3600) as i64
}

/// Whether the session `token` names is still live, without using it.
pub async fn session_is_live(app: &App, token: &str) -> bool {
    app.store
        .session_is_live(token, idle_secs(app), max_secs(app))
        .await
        .unwrap_or(false)
}

/// The session cookie's value, if the request carries one.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_string())
}

impl FromRequestParts<App> for Page {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Refusal> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else {
            return Err(Refusal::Unauthenticated);
        };
        let Some(s) = app
            .store
            .session(&token, idle_secs(app), max_secs(app))
            .await?
        else {
            return Err(Refusal::Unauthenticated);
        };
        let state: serde_json::Value = app.state_json();
        Ok(Page {
            user: s.user,
            csrf: s.csrf,
            flash: layout::Flash::from_jar(&jar),
            badge: super::polish::badge(&state),
        })
    }
}

/// A form that changes something: a logged-in person whose role may change
/// things, and the session's CSRF token in the form's `_csrf` field.
pub struct Change<T> {
    pub page: Page,
    pub form: T,
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

/// A form that changes nothing in the records (logging out): the CSRF
/// token only, whatever the role.
pub struct Signed(pub Page);

async fn signed_form<T: DeserializeOwned>(req: Request, app: &App) -> Result<(Page, T), Refusal> {
    let (mut parts, body) = req.into_parts();
    let page = Page::from_request_parts(&mut parts, app).await?;
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .map_err(|_| Refusal::Invalid("Formularz jest za duży.".into()))?;
    let field: CsrfField = serde_html_form::from_bytes(&bytes)
        .map_err(|_| Refusal::Invalid("Formularz jest nieczytelny.".into()))?;
    if !constant_time_eq(field.csrf.as_bytes(), page.csrf.as_bytes()) {
        return Err(Refusal::Forbidden(
            "Formularz wygasł albo nie pochodzi z tej strony. Wróć, odśwież stronę i spróbuj ponownie.",
        ));
    }
    let form: T = serde_html_form::from_bytes(&bytes)
        .map_err(|e| Refusal::Invalid(format!("Formularz jest niepełny: {e}")))?;
    Ok((page, form))
}

impl FromRequest<App> for Signed {
    type Rejection = Refusal;

    async fn from_request(req: Request, app: &App) -> Result<Self, Refusal> {
        let (page, Empty {}) = signed_form(req, app).await?;
        Ok(Signed(page))
    }
}

impl<T: DeserializeOwned + Send> FromRequest<App> for Change<T> {
    type Rejection = Refusal;

    async fn from_request(req: Request, app: &App) -> Result<Self, Refusal> {
        let (page, form) = signed_form(req, app).await?;
        if !page.may_change() {
            return Err(Refusal::Forbidden(
                "Konto audytora może przeglądać dane, ale niczego nie zmienia.",
            ));
        }
        Ok(Change { page, form })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The API's caller: a session cookie or `Authorization: Bearer <token>`.
pub struct ApiUser(pub User);

impl FromRequestParts<App> for ApiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let unauthorized = || {
            (
                axum::http::StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                axum::Json(serde_json::json!({"error": "unauthorized", "message": "log in, or send Authorization: Bearer <token> (legitka user token)"})),
            )
                .into_response()
        };
        let internal = |e: crate::records::store::StoreError| Refusal::from(e).into_response();
        if let Some(bearer) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            return match app
                .store
                .user_by_token(bearer.trim())
                .await
                .map_err(internal)?
            {
                Some(u) => Ok(ApiUser(u)),
                None => Err(unauthorized()),
            };
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(token) = jar.get(SESSION_COOKIE) else {
            return Err(unauthorized());
        };
        match app
            .store
            .session(token.value(), idle_secs(app), max_secs(app))
            .await
            .map_err(internal)?
        {
            Some(s) => Ok(ApiUser(s.user)),
            None => Err(unauthorized()),
        }
    }
}

fn cookie(app: &App, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(app.0.secure_cookies)
        .build()
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    blad: Option<String>,
}

pub async fn login_form(
    State(app): State<App>,
    jar: CookieJar,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    // One token per browser, kept while it lives: a second tab (or a
    // reload) must not invalidate the form in the first.
    let token = jar
        .get(LOGIN_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|t| t.len() == 64)
        .unwrap_or_else(|| account::new_token().0);
    let message = match q.blad.as_deref() {
        Some("haslo") => Some("Nieprawidłowy login lub hasło."),
        Some("limit") => Some("Za dużo nieudanych prób logowania z tego komputera. Odczekaj minutę i spróbuj ponownie."),
        Some("formularz") => Some("Formularz logowania wygasł. Spróbuj ponownie."),
        _ => None,
    };
    let body = html! {
        main.login {
            h1 { "legitka" }
            p.muted { "Stacja druku legitymacji szkolnych" }
            @if let Some(m) = message { p.flash.error role="alert" { (m) } }
            form method="post" action="/logowanie" {
                input type="hidden" name="_csrf" value=(token);
                label for="login" { "Login" }
                input #login name="login" autocomplete="username" maxlength=(MAX_LOGIN) required autofocus;
                label for="password" { "Hasło" }
                input #password name="password" type="password" autocomplete="current-password" required;
                button.primary type="submit" { "Zaloguj" }
            }
        }
    };
    (
        jar.add(cookie(&app, LOGIN_COOKIE, token)),
        layout::bare_page("Logowanie", body),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    login: String,
    password: String,
}

/// The client's address: the connection's, or behind a reverse proxy the
/// one the proxy put last in X-Forwarded-For, believed only when the
/// connection comes from loopback or from a proxy named in
/// `http.trusted_proxies` (anyone else could write the header).
pub(crate) fn client_ip(
    behind_proxy: bool,
    trusted: &[IpAddr],
    peer: SocketAddr,
    headers: &HeaderMap,
) -> IpAddr {
    let from_proxy = peer.ip().is_loopback() || trusted.contains(&peer.ip());
    if behind_proxy && from_proxy {
        if let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
        {
            return ip;
        }
    }
    peer.ip()
}

pub async fn login(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(f): Form<LoginForm>,
) -> Result<Response, Refusal> {
    let expected = jar.get(LOGIN_COOKIE).map(|c| c.value().to_string());
    if !expected
        .is_some_and(|e| !f.csrf.is_empty() && constant_time_eq(e.as_bytes(), f.csrf.as_bytes()))
    {
        return Ok(Redirect::to("/logowanie?blad=formularz").into_response());
    }
    let http = &app.settings.http;
    let ip = client_ip(http.behind_proxy, &http.trusted_proxies, peer, &headers);
    let login = f.login.trim().to_lowercase();
    // No account has such a login: refused before it is a key, a log line
    // or an audit line (a password typed into the login field must not be
    // kept where others read it).
    if login.chars().count() > MAX_LOGIN || account::check_login(&login).is_err() {
        tracing::info!(%ip, login_chars = login.chars().count(), "login refused: not an account's login");
        if !app.0.limits.may_try(ip, "") {
            return Ok(Redirect::to("/logowanie?blad=limit").into_response());
        }
        app.0.limits.failed(ip, "");
        app.store
            .audit("?", "web", "login.refused", None, Some(&ip.to_string()))
            .await?;
        return Ok(Redirect::to("/logowanie?blad=haslo").into_response());
    }
    if !app.0.limits.may_try(ip, &login) {
        tracing::warn!(%ip, "login attempts rate-limited");
        return Ok(Redirect::to("/logowanie?blad=limit").into_response());
    }
    let hash = app.store.password_hash(&login).await?;
    let known = hash.is_some() || app.store.user(&login).await?.is_some();
    let password = f.password;
    let ok = tokio::task::spawn_blocking(move || match hash {
        Some(h) => account::verify_password(&h, &password),
        None => {
            // The same work for a login that does not exist.
            account::verify_password(account::dummy_hash(), &password);
            false
        }
    })
    .await
    .map_err(|e| Refusal::Internal(e.to_string()))?;
    if !ok {
        app.0.limits.failed(ip, &login);
        // A login that is no account may be a password typed in the wrong
        // field: only an account's own login is written down.
        let who = if known { login.as_str() } else { "?" };
        tracing::info!(%ip, login = %who, "login refused");
        app.store
            .audit(who, "web", "login.refused", None, Some(&ip.to_string()))
            .await?;
        return Ok(Redirect::to("/logowanie?blad=haslo").into_response());
    }
    app.0.limits.succeeded(ip, &login);
    let (token, _) = app.store.open_session(&login).await?;
    app.store
        .audit(&login, "web", "login", None, Some(&ip.to_string()))
        .await?;
    Ok((
        jar.remove(Cookie::build(LOGIN_COOKIE).path("/"))
            .add(cookie(&app, SESSION_COOKIE, token)),
        Redirect::to("/"),
    )
        .into_response())
}

pub async fn logout(
    State(app): State<App>,
    jar: CookieJar,
    signed: Signed,
) -> Result<Response, Refusal> {
    if let Some(c) = jar.get(SESSION_COOKIE) {
        app.store.close_session(c.value()).await?;
    }
    app.store
        .audit(&signed.0.user.login, "web", "logout", None, None)
        .await?;
    Ok((
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")),
        Redirect::to("/logowanie"),
    )
        .into_response())
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
pub struct Empty {}

/// Deletes idle sessions now and then, so the table does not grow.
pub async fn expire_sessions(app: App) {
    loop {
        tokio::time::sleep(Duration::from_secs(300)).await;
        if let Err(e) = app
            .store
            .expire_sessions(idle_secs(&app), max_secs(&app))
            .await
        {
            tracing::warn!(error = %e, "cannot expire web sessions");
        }
    }
}

/// Only an administrator.
pub fn admin_only(page: &Page) -> Result<(), Refusal> {
    if page.user.role == Role::Admin {
        Ok(())
    } else {
        Err(Refusal::Forbidden("Tę stronę widzi tylko administrator."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn x_forwarded_for_is_believed_from_loopback_and_named_proxies_only() {
        let h = forwarded("203.0.113.7, 198.51.100.1");
        let lo: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let proxy: SocketAddr = "192.0.2.5:5000".parse().unwrap();
        let stranger: SocketAddr = "192.0.2.66:5000".parse().unwrap();
        let trusted = ["192.0.2.5".parse().unwrap()];
        // Behind a proxy: its last entry, from loopback or the named proxy.
        assert_eq!(
            client_ip(true, &trusted, lo, &h).to_string(),
            "198.51.100.1"
        );
        assert_eq!(
            client_ip(true, &trusted, proxy, &h).to_string(),
            "198.51.100.1"
        );
        // Anyone else writes what they like: the connection's address counts.
        assert_eq!(client_ip(true, &trusted, stranger, &h), stranger.ip());
        // Not behind a proxy: never.
        assert_eq!(client_ip(false, &trusted, lo, &h), lo.ip());
    }

    #[test]
    fn failures_count_per_address_and_old_keys_are_forgotten() {
        let l = Limits::new();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..FAILURES_ALLOWED {
            assert!(l.may_try(a, "anna"));
            l.failed(a, "anna");
        }
        assert!(!l.may_try(a, "anna"), "a waits after its failures");
        assert!(l.may_try(b, "anna"), "b is not locked out by a");
        assert!(l.may_try(a, "adam"), "nor is another login from a");
        l.succeeded(b, "anna");
        // Many keys, then forgotten once they limit nothing.
        for i in 0..2000u32 {
            l.failed(IpAddr::from(i.to_be_bytes()), "x");
        }
        assert!(l.remembered().1 >= 2000);
        {
            let mut f = l.failures.lock().unwrap();
            for x in f.values_mut() {
                x.since -= FAILURE_WINDOW;
            }
        }
        l.forget_old();
        assert_eq!(l.remembered().1, 0, "expired failures are forgotten");
    }
}
