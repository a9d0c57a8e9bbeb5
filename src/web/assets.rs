//! The page's static files, in the binary: the station needs no internet.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/web/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/web/app.js"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../../assets/web/icon.svg"),
    ),
    (
        "DejaVuSans.ttf",
        "font/ttf",
        include_bytes!("../../assets/fonts/DejaVuSans.ttf"),
    ),
    (
        "DejaVuSans-Bold.ttf",
        "font/ttf",
        include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf"),
    ),
];

/// A file's address, with the version so a new release is not served
/// from an old cache.
pub fn url(file: &str) -> String {
    format!("/static/{file}?v={}", env!("CARGO_PKG_VERSION"))
}

pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, bytes)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
