//! Telling the service manager (systemd, `Type=notify`) how the station is:
//! `READY=1` once the database, the broker and the printer are up (or, after
//! `READY_GRACE`, with what is up: a printer switched off at boot must not
//! hold the whole boot, nor make the service fail and restart in a loop),
//! `WATCHDOG=1` only while the print queue's loop is alive (a hung queue is
//! restarted), and a `STATUS=` line for `systemctl status`.
//!
//! Without `NOTIFY_SOCKET` (a terminal, the tests) every call is a no-op.

use crate::runtime::mqtt::Link;
use crate::runtime::shutdown::Shutdown;
use sd_notify::NotifyState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracing::{debug, info};

/// The print queue's sign of life: when its loop last came round.
#[derive(Clone)]
pub struct Heartbeat {
    epoch: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            epoch: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Heartbeat {
    pub fn beat(&self) {
        self.last_ms
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn age(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(last)
    }
}

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        debug!(error = %e, "cannot notify the service manager");
    }
}

/// The one line `systemctl status` shows, from the retained state.
fn status_line(state: &[u8], link: &Link) -> String {
    let v: serde_json::Value = serde_json::from_slice(state).unwrap_or_default();
    let p = &v["printer"];
    let printer = match (p["state"].as_str(), p["detail"].as_str()) {
        (Some(s), Some(d)) => format!("{s} ({d})"),
        (Some(s), None) => s.to_string(),
        _ => "unknown".into(),
    };
    let model = p["model"].as_str().unwrap_or("no printer");
    let q = &v["queue"];
    let broker = match (&link.error, link.connected) {
        (Some(e), _) => format!("error: {e}"),
        (None, true) => "connected".into(),
        (None, false) => "connecting".into(),
    };
    format!(
        "printer {model}: {printer}; queue: {} pending, {} printing, {} held; broker: {broker}",
        q["pending"], q["printing"], q["held"]
    )
}

/// How long READY waits for the broker and the printer; the service
/// manager's start timeout is 90 s by default.
pub const READY_GRACE: Duration = Duration::from_secs(60);

fn printer_up(state: &[u8]) -> bool {
    let v: serde_json::Value = serde_json::from_slice(state).unwrap_or_default();
    matches!(v["printer"]["state"].as_str(), Some(s) if s != "offline")
}

/// Runs until shutdown, then says `STOPPING=1`.
pub async fn run(
    mut link: watch::Receiver<Link>,
    mut state: watch::Receiver<Vec<u8>>,
    heartbeat: Heartbeat,
    mut stop: Shutdown,
) {
    let watchdog = sd_notify::watchdog_enabled();
    // Twice per watchdog period, as systemd advises; the status line is
    // refreshed on every change anyway.
    let tick = watchdog.map_or(Duration::from_secs(5), |w| w / 2);
    let mut ready = false;
    let mut last_status = String::new();
    let started = Instant::now();
    let (mut state_closed, mut link_closed) = (false, false);
    loop {
        if stop.is_set() {
            send(&[NotifyState::Stopping]);
            return;
        }
        let (status, up) = {
            let s = state.borrow_and_update();
            let l = link.borrow_and_update();
            (
                status_line(&s, &l),
                l.connected && l.error.is_none() && printer_up(&s),
            )
        };
        if status != last_status {
            send(&[NotifyState::Status(&status)]);
            last_status = status;
        }
        if up && !ready {
            ready = true;
            info!("database, broker and printer are up");
            send(&[NotifyState::Ready]);
        } else if !ready && started.elapsed() >= READY_GRACE {
            ready = true;
            tracing::warn!(status = %last_status, "started without everything up; the station keeps trying");
            send(&[NotifyState::Ready]);
        }
        if let Some(w) = watchdog {
            // Silence is the alarm: a queue that stopped coming round is
            // restarted by the service manager.
            if heartbeat.age() < w {
                send(&[NotifyState::Watchdog]);
            } else {
                tracing::error!(
                    silent_for = ?heartbeat.age(),
                    "the print queue has not come round; the watchdog will restart the station"
                );
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            r = state.changed(), if !state_closed => state_closed = r.is_err(),
            r = link.changed(), if !link_closed => link_closed = r.is_err(),
            _ = stop.wait() => {}
        }
    }
}
