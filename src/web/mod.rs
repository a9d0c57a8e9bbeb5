//! The operator's web page and the JSON API, served by the daemon itself.
//!
//! Server-rendered HTML (maud) with plain forms that work without
//! JavaScript; a little script only for live updates (server-sent events).
//! Every static file is in the binary: the station works with no internet.
//!
//! `auth` decides who is asking and what they may do, `layout` is the
//! frame every page shares, `pages/` has one file per page, `api` the JSON.

mod api;
mod assets;
mod auth;
mod layout;
mod pages;
mod polish;
mod server;

pub use auth::FAILURES_ALLOWED;

use crate::card::render::Renderer;
use crate::records::store::{Store, StoreError};
use crate::settings::Settings;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use thiserror::Error;
use tokio::sync::{watch, Notify};

/// What the page needs from the running station.
pub struct WebParts {
    pub settings: Settings,
    pub store: Store,
    pub renderer: Arc<Renderer>,
    /// The retained state message as the station publishes it.
    pub state: watch::Receiver<Vec<u8>>,
    /// Wakes the print queue after an operator's decision.
    pub queue_ready: Arc<Notify>,
    /// Test cards asked for; the queue prints them between orders.
    pub test_cards: Arc<std::sync::atomic::AtomicU32>,
}

#[derive(Clone)]
struct App(Arc<AppInner>);

struct AppInner {
    parts: WebParts,
    limits: auth::Limits,
    secure_cookies: bool,
    /// Names the page answers to besides IP addresses (DNS rebinding).
    host_names: Vec<String>,
    /// Previews decoded at once (a photo is up to 40 megapixels).
    previews: tokio::sync::Semaphore,
    /// Set when the station stops: live streams end so the server can.
    stopping: watch::Receiver<bool>,
}

impl std::ops::Deref for App {
    type Target = WebParts;
    fn deref(&self) -> &WebParts {
        &self.0.parts
    }
}

impl App {
    /// The station's retained state message, parsed (null before the
    /// first one).
    fn state_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.state.borrow()).unwrap_or_default()
    }
}

#[derive(Debug, Error)]
pub enum WebError {
    #[error("http.listen {0}: {1}")]
    Bind(String, std::io::Error),
    #[error("http TLS: {0}")]
    Tls(String),
}

/// Why a request was not served: each becomes a Polish page (or JSON for
/// the API) with its status.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Not logged in (a page redirects to the login form; the API says 401).
    Unauthenticated,
    Forbidden(&'static str),
    NotFound,
    /// The request was understood and refused: the message says why.
    Invalid(String),
    /// Too many such requests at once: try again shortly.
    Busy,
    Internal(String),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Db(_)
            | StoreError::Migrate(_)
            | StoreError::Io(..)
            | StoreError::Corrupt(..) => Refusal::Internal(e.to_string()),
            other => Refusal::Invalid(polish::store_error(&other)),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, title, text) = match self {
            Refusal::Unauthenticated => {
                return axum::response::Redirect::to("/logowanie").into_response()
            }
            Refusal::Forbidden(why) => (StatusCode::FORBIDDEN, "Brak uprawnień", why.to_string()),
            Refusal::NotFound => (
                StatusCode::NOT_FOUND,
                "Nie ma takiej strony",
                "Sprawdź adres albo wróć do pulpitu.".to_string(),
            ),
            Refusal::Invalid(m) => (StatusCode::BAD_REQUEST, "Nie udało się", m),
            Refusal::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Stacja jest zajęta",
                "Za dużo podglądów naraz. Odśwież stronę za chwilę.".to_string(),
            ),
            Refusal::Internal(m) => {
                tracing::error!(error = %m, "web request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Błąd stacji",
                    "Stacja nie mogła wykonać polecenia. Szczegóły są w dzienniku systemowym (journalctl -u legitka).".to_string(),
                )
            }
        };
        (status, layout::bare(title, &text)).into_response()
    }
}

/// The records refused an action: back to `to` with their reason; a
/// failure of the station itself is an error page.
pub(crate) fn refused(to: &str, e: StoreError) -> Result<Response, Refusal> {
    match Refusal::from(e) {
        Refusal::Invalid(m) => Ok(layout::redirect(to, false, &m)),
        other => Err(other),
    }
}

fn router(app: App) -> Router {
    Router::new()
        .route("/", get(pages::dashboard::page))
        .route("/na-zywo", get(pages::dashboard::live))
        .route(
            "/logowanie",
            // A login form is a few hundred bytes; nothing bigger is read.
            get(auth::login_form)
                .post(auth::login)
                .layer(axum::extract::DefaultBodyLimit::max(auth::LOGIN_FORM_BYTES)),
        )
        .route("/wyloguj", post(auth::logout))
        .route("/kolejka", get(pages::queue::page))
        .route("/kolejka/partia", post(pages::queue::start_batch))
        .route("/partie/{id}/{action}", post(pages::queue::batch_action))
        .route("/sprawdzenie", get(pages::holds::page))
        .route(
            "/sprawdzenie/{order}/{decision}",
            get(pages::holds::confirm_page).post(pages::holds::decide),
        )
        .route("/podglad/{order}", get(pages::holds::preview))
        .route("/rejestr", get(pages::register::page))
        .route("/rejestr/{id}", get(pages::register::card))
        .route("/rejestr/{id}/podglad", get(pages::register::preview))
        .route("/hologramy", get(pages::holograms::page))
        .route("/hologramy/naklej", post(pages::holograms::apply))
        .route("/hologramy/klasa", post(pages::holograms::apply_class))
        .route("/hologramy/stos", post(pages::holograms::apply_pile))
        .route("/hologramy/zepsuty", post(pages::holograms::spoil))
        .route("/druki", get(pages::blanks::page))
        .route("/druki/zaladuj", post(pages::blanks::load))
        .route("/druki/wyjmij", post(pages::blanks::unload))
        .route("/druki/przyjmij", post(pages::blanks::receive))
        .route("/druki/rozchod", post(pages::blanks::dispose))
        .route("/druki/korekta", post(pages::blanks::void))
        .route("/raporty", get(pages::reports::page))
        .route("/raporty/pobierz", get(pages::reports::download))
        .route("/drukarka", get(pages::printer::page))
        .route("/drukarka/karta-testowa", post(pages::printer::test_card))
        .route("/konta", get(pages::users::page).post(pages::users::add))
        .route("/konta/{login}/wylacz", post(pages::users::disable))
        .route("/dziennik", get(pages::audit::page))
        .route("/static/{file}", get(assets::serve))
        .nest("/api/v1", api::router())
        .fallback(|| async { Refusal::NotFound })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            layout::security_headers,
        ))
        .with_state(app)
}

/// Serves the page until `stop` completes. Returns at once when
/// `http.listen` is empty.
pub async fn serve(
    parts: WebParts,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    let http = parts.settings.http.clone();
    if http.listen.is_empty() {
        return Ok(());
    }
    let addr: SocketAddr = http
        .listen
        .parse()
        .map_err(|e| WebError::Bind(http.listen.clone(), std::io::Error::other(e)))?;
    let (stopping_tx, stopping) = watch::channel(false);
    let mut host_names: Vec<String> = ["localhost".to_string()]
        .into_iter()
        .chain(this_host())
        .chain(http.host_names.iter().map(|h| h.to_ascii_lowercase()))
        .collect();
    host_names.dedup();
    let app = App(Arc::new(AppInner {
        parts,
        limits: auth::Limits::new(),
        secure_cookies: http.tls_cert.is_some() || http.behind_proxy,
        host_names,
        previews: tokio::sync::Semaphore::new(PREVIEWS_AT_ONCE),
        stopping,
    }));
    let mut stopped = app.0.stopping.clone();
    tokio::spawn(async move {
        stop.await;
        let _ = stopping_tx.send(true);
    });
    let stop = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    tokio::spawn(auth::expire_sessions(app.clone()));
    tokio::spawn(auth::forget_attempts(app.clone()));
    let tls = match (&http.tls_cert, &http.tls_key) {
        (Some(c), Some(k)) => Some((c.clone(), k.clone())),
        _ => None,
    };
    server::serve(
        server::Listen {
            addr,
            tls,
            max_connections: http.max_connections,
            header_timeout: std::time::Duration::from_secs(http.header_timeout_seconds),
        },
        router(app),
        stop,
    )
    .await
}

/// Previews rendered at once: each decodes a photo of up to 40 megapixels
/// (160 MB of pixels); more wait for their turn.
const PREVIEWS_AT_ONCE: usize = 2;

/// This machine's name and its first label, as a browser on the school's
/// network may call it.
fn this_host() -> Vec<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if name.is_empty() {
        return Vec::new();
    }
    let short = name.split('.').next().unwrap_or_default().to_string();
    let mut v = vec![name.clone(), short];
    v.dedup();
    v
}
