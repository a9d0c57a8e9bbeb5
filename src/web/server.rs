//! How connections come in: TLS or plain, and the limits that keep a flood
//! of them from taking the process's file descriptors (and with them the
//! broker link and the printer's socket): at most `http.max_connections`
//! served at once (the rest wait in the kernel's queue, not in ours), and
//! `http.header_timeout_seconds` to finish TLS and send a request's headers.

use super::WebError;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::PollSemaphore;
use tower::Service;

/// Limits and where to serve.
pub struct Listen {
    pub addr: SocketAddr,
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    pub max_connections: usize,
    pub header_timeout: Duration,
}

pub async fn serve(
    listen: Listen,
    router: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    let addr = listen.addr;
    let bind_error = |e| WebError::Bind(addr.to_string(), e);
    let make = Limited {
        inner: router.into_make_service_with_connect_info::<SocketAddr>(),
        permits: PollSemaphore::new(Arc::new(Semaphore::new(listen.max_connections))),
        permit: None,
    };
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        stop.await;
        h.graceful_shutdown(Some(Duration::from_secs(2)));
    });
    match listen.tls {
        Some((cert, key)) => {
            // The broker link installs the same provider; whichever comes
            // first wins, and neither may depend on the other's order.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                .await
                .map_err(|e| WebError::Tls(format!("{}: {e}", cert.display())))?;
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(config)
                .handshake_timeout(listen.header_timeout);
            let mut server = axum_server::bind(addr).acceptor(acceptor).handle(handle);
            timeouts(server.http_builder(), listen.header_timeout);
            tracing::info!(%addr, max_connections = listen.max_connections, "web page at https://{addr}/");
            server
                .first_request_timeout(listen.header_timeout)
                .serve(make)
                .await
                .map_err(bind_error)
        }
        None => {
            let mut server = axum_server::bind(addr).handle(handle);
            timeouts(server.http_builder(), listen.header_timeout);
            tracing::info!(%addr, max_connections = listen.max_connections, "web page at http://{addr}/");
            server
                .first_request_timeout(listen.header_timeout)
                .serve(make)
                .await
                .map_err(bind_error)
        }
    }
}

fn timeouts(
    b: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    header: Duration,
) {
    b.http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header);
    b.http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)));
}

/// The make-service with a permit per connection. The server asks it to be
/// ready before it accepts the next connection, so while every permit is
/// out no connection is accepted at all; a connection's permit goes back
/// when its service (and every clone serving a request) is dropped.
#[derive(Clone)]
struct Limited {
    inner: MakeInner,
    permits: PollSemaphore,
    permit: Option<Arc<OwnedSemaphorePermit>>,
}

type MakeInner = IntoMakeServiceWithConnectInfo<Router, SocketAddr>;

impl Service<SocketAddr> for Limited {
    type Response = Permitted<<MakeInner as Service<SocketAddr>>::Response>;
    type Error = <MakeInner as Service<SocketAddr>>::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.permit.is_none() {
            match self.permits.poll_acquire(cx) {
                Poll::Ready(Some(p)) => self.permit = Some(Arc::new(p)),
                Poll::Ready(None) => unreachable!("the semaphore is never closed"),
                Poll::Pending => return Poll::Pending,
            }
        }
        Service::<SocketAddr>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, target: SocketAddr) -> Self::Future {
        let permit = self.permit.take();
        let made = self.inner.call(target);
        Box::pin(async move {
            Ok(Permitted {
                inner: made.await?,
                _permit: permit,
            })
        })
    }
}

/// A connection's service, holding its permit.
#[derive(Clone)]
pub struct Permitted<S> {
    inner: S,
    _permit: Option<Arc<OwnedSemaphorePermit>>,
}

impl<S: Service<R>, R> Service<R> for Permitted<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        self.inner.call(req)
    }
}
