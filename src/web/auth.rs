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
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

pub const SESSION_COOKIE: &str = "legitka_session";
/// The login form's own CSRF token, before there is a session.
const LOGIN_COOKIE: &str = "legitka_login";

/// Login attempts: per login and per address, so guessing one account's
/// password and trying one password on every account are both slow.
pub struct Limits {
    per_login: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl Limits {
    pub fn new() -> Self {
        let per_minute = |n| Quota::per_minute(NonZeroU32::new(n).expect("non-zero"));
        Limits {
            per_login: RateLimiter::keyed(per_minute(5)),
            per_address: RateLimiter::keyed(per_minute(20)),
        }
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

impl FromRequestParts<App> for Page {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Refusal> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else {
            return Err(Refusal::Unauthenticated);
        };
        let Some(s) = app.store.session(&token, idle_secs(app)).await? else {
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
            .session(token.value(), idle_secs(app))
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
        Some("limit") => Some("Za dużo prób logowania. Odczekaj minutę i spróbuj ponownie."),
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
                input #login name="login" autocomplete="username" required autofocus;
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
/// one it puts last in X-Forwarded-For.
fn client_ip(app: &App, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if app.settings.http.behind_proxy {
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
    let ip = client_ip(&app, peer, &headers);
    let login = f.login.trim().to_lowercase();
    if app.0.limits.per_address.check_key(&ip).is_err()
        || app.0.limits.per_login.check_key(&login).is_err()
    {
        tracing::warn!(%ip, login = %login, "login attempts rate-limited");
        return Ok(Redirect::to("/logowanie?blad=limit").into_response());
    }
    let hash = app.store.password_hash(&login).await?;
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
        tracing::info!(%ip, login = %login, "login refused");
        app.store
            .audit(&login, "web", "login.refused", None, Some(&ip.to_string()))
            .await?;
        return Ok(Redirect::to("/logowanie?blad=haslo").into_response());
    }
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
        if let Err(e) = app.store.expire_sessions(idle_secs(&app)).await {
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
