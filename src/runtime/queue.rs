//! The print queue: takes accepted cards in arrival order, renders each,
//! sends it to the printer and records what happened. A card is marked
//! `printing` before its first byte leaves, so a crash can never lead to it
//! being printed again without an operator.

use crate::card::profile::{DownloadForm, PrinterProfile};
use crate::card::render::{RenderError, Renderer};
use crate::records::event::{Event, PrintedFields};
use crate::records::store::{Start, Store};
use crate::runtime::notify::Heartbeat;
use crate::runtime::shutdown::Shutdown;
use crate::runtime::state::{PrinterView, StateReport};
use legitka_drivers::evolis::wire::Download;
use legitka_drivers::evolis::{EvolisPrinter, EvolisSettings, StatusQuery};
use legitka_drivers::ipp::{IppPrinter, IppSettings, PageLayout};
use legitka_drivers::{open_uri, Capabilities, PrintError, Printer, PrinterUri, Status};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tracing::{error, info, warn};

pub struct Queue {
    pub store: Store,
    pub renderer: Arc<Renderer>,
    pub uri: PrinterUri,
    pub profile: PrinterProfile,
    pub station: String,
    pub operator: Option<String>,
    pub state: watch::Sender<Vec<u8>>,
    pub queue_ready: Arc<Notify>,
    pub outbox_ready: Arc<Notify>,
    /// Beats while the loop comes round; the service watchdog listens.
    pub heartbeat: Heartbeat,
    /// Test cards an administrator asked for (the web page's Drukarka).
    pub test_cards: Arc<AtomicU32>,
    /// The school's RSPO number, for the test card's data.
    pub school: String,
}

type Link = Box<dyn Printer>;

/// How long the queue waits after a card the printer did not start.
const NOT_STARTED_PAUSE: Duration = Duration::from_secs(2);

/// A card rendered ahead of its turn.
struct Prepared {
    order_id: String,
    rendered: Result<crate::card::render::RenderedCard, RenderError>,
}

/// Connects to the printer the profile describes.
pub fn connect(uri: &PrinterUri, profile: &PrinterProfile) -> Result<Link, String> {
    let caps = Capabilities {
        dpi: profile.dpi,
        width_px: profile.width_px,
        height_px: profile.height_px,
        ribbons: profile.ribbons.clone(),
        duplex: profile.duplex,
    };
    // How long a card may take before nobody knows what became of it:
    // generous, since the answer then is an operator's check.
    let card_timeout = Duration::from_secs_f32((profile.seconds_per_card * 4.0).max(60.0));
    if let (PrinterUri::Ipp(address), Some(ipp)) = (uri, &profile.ipp) {
        let settings = IppSettings {
            document_format: ipp.document_format.clone(),
            layout: PageLayout {
                width_px: ipp.page_width_px,
                height_px: ipp.page_height_px,
                rotate: ipp.rotate,
                offset_x_px: ipp.offset_x_px,
                offset_y_px: ipp.offset_y_px,
            },
            attributes: ipp.attributes.clone().into_iter().collect(),
            card_timeout,
            poll: Duration::from_millis(250),
        };
        return IppPrinter::connect(address.clone(), settings, caps)
            .map(|p| Box::new(p) as Link)
            .map_err(|e| e.to_string());
    }
    if matches!(uri, PrinterUri::Ipp(_)) != (profile.protocol == "ipp") {
        return Err(format!(
            "printer.uri {uri:?} and the profile's protocol {:?} do not go together: an ipp:// or cups: printer takes a profile with protocol = \"ipp\" (ipp-everywhere, magicard-gutenprint, zebra-zc300, evolis-cups)",
            profile.protocol
        ));
    }
    let link = open_uri(uri).map_err(|e| e.to_string())?;
    let settings = EvolisSettings {
        ribbon: profile.ribbon.to_ascii_lowercase(),
        colour_levels: profile.colour_levels,
        download: match profile.download {
            DownloadForm::Dbc => Download::Compressed,
            DownloadForm::Db => Download::Raw,
        },
        status: profile
            .status_command
            .clone()
            .map_or(StatusQuery::Documented, StatusQuery::Words),
        card_timeout,
        ..EvolisSettings::default()
    };
    match profile.protocol.as_str() {
        "evolis" => EvolisPrinter::connect(link, settings, caps)
            .map(|p| Box::new(p) as Link)
            .map_err(|e| e.to_string()),
        other => Err(format!("no driver for protocol {other:?}")),
    }
}

/// Runs blocking printer I/O off the async threads, handing the link back.
async fn blocking<T: Send + 'static>(
    link: Link,
    f: impl FnOnce(&mut Link) -> T + Send + 'static,
) -> (Link, T) {
    match tokio::task::spawn_blocking(move || {
        let mut link = link;
        let r = f(&mut link);
        (link, r)
    })
    .await
    {
        Ok(done) => done,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Cancelled: the runtime is shutting down and drops this task with
        // it; there is nothing to hand back and nothing went wrong.
        Err(_) => std::future::pending().await,
    }
}

impl Queue {
    fn view(&self, l: &Link, s: &Status) -> PrinterView {
        PrinterView {
            model: l.identity().model.clone(),
            serial: l.identity().serial.clone(),
            ribbon: self.profile.ribbon.clone(),
            status: s.clone(),
        }
    }

    async fn report(&self, printer: Option<PrinterView>, printing_now: bool) {
        let queue = self.store.counts().await.unwrap_or_default();
        let report = StateReport {
            station: self.station.clone(),
            printer,
            printing_now,
            queue,
        };
        self.state.send_if_modified(|old| {
            let new = report.to_json();
            // `at` changes every time; compare the rest.
            let strip = |b: &[u8]| {
                let mut v: serde_json::Value = serde_json::from_slice(b).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.remove("at");
                }
                v
            };
            if strip(old) == strip(&new) {
                return false;
            }
            *old = new;
            true
        });
    }

    async fn record(&self, events: &[Event]) {
        if let Err(e) = self.store.record_events(events).await {
            error!(error = %e, "cannot record an event");
        }
        self.outbox_ready.notify_one();
    }

    /// Waits for `d`, new work, or shutdown.
    async fn idle(&self, d: Duration, shutdown: &mut Shutdown) {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = self.queue_ready.notified() => {}
            _ = shutdown.wait() => {}
        }
    }

    /// Awaits `work` (a card in the printer), beating meanwhile: a card takes
    /// longer than the watchdog allows for one silence.
    async fn beating<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        tokio::pin!(work);
        loop {
            self.heartbeat.beat();
            tokio::select! {
                r = &mut work => return r,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    pub async fn run(self, mut shutdown: Shutdown) {
        let mut link: Option<Link> = None;
        // The next card, rendered while the current one prints.
        let mut prepared: Option<Prepared> = None;
        let mut paused_for = None;
        while !shutdown.is_set() {
            self.heartbeat.beat();
            let Some(l) = link.take() else {
                let (uri, profile) = (self.uri.clone(), self.profile.clone());
                let connected = self
                    .beating(tokio::task::spawn_blocking(move || connect(&uri, &profile)))
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()));
                match connected {
                    Ok(l) => {
                        info!(model = %l.identity().model, serial = %l.identity().serial, "printer connected");
                        link = Some(l);
                    }
                    Err(e) => {
                        warn!(error = %e, "printer not reachable; retrying");
                        self.report(None, false).await;
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                            _ = shutdown.wait() => {}
                        }
                    }
                }
                continue;
            };
            // The printer's status and the next card at once: between two
            // cards the printer waits for both, and the database's answer
            // (milliseconds on a decade's register) need not follow the
            // printer's.
            let ((l, status), next) =
                tokio::join!(blocking(l, |p| p.status()), self.store.next_queued());
            let status = match status {
                Ok(s) => s,
                Err(e) => {
                    warn!(error = %e, "printer stopped answering");
                    self.report(None, false).await;
                    continue;
                }
            };
            let view = self.view(&l, &status);
            if !status.can_print() {
                self.report(Some(view), false).await;
                if paused_for != status.detail {
                    warn!(state = ?status.state, cause = ?status.detail, "queue paused until the printer is ready");
                    paused_for = status.detail;
                    let cause = status.detail.map_or("unknown", |c| c.as_str());
                    self.record(&[Event::printer_paused(cause)]).await;
                }
                link = Some(l);
                self.idle(Duration::from_millis(500), &mut shutdown).await;
                continue;
            }
            if let Some(cause) = paused_for.take() {
                info!("printer ready again; queue resumes");
                self.record(&[Event::printer_resumed(cause.as_str())]).await;
            }
            if self.test_cards.swap(0, Ordering::SeqCst) > 0 {
                self.report(Some(view), false).await;
                link = self.print_test_card(l).await;
                continue;
            }
            let next = match next {
                Ok(n) => n,
                Err(e) => {
                    error!(error = %e, "cannot read the queue");
                    self.report(Some(view), false).await;
                    link = Some(l);
                    self.idle(Duration::from_secs(2), &mut shutdown).await;
                    continue;
                }
            };
            // A card to print reports the state as it starts (print_one);
            // the state is reported here only when none does.
            let Some(card) = next else {
                self.report(Some(view), false).await;
                link = Some(l);
                self.idle(Duration::from_secs(1), &mut shutdown).await;
                continue;
            };
            let (l, next) = self
                .print_one(l, card, &status, prepared.take(), &shutdown)
                .await;
            link = l;
            prepared = next;
            self.outbox_ready.notify_one();
        }
        info!("print queue stopped");
    }

    /// Prints one card; returns the link if it is still usable.
    async fn render(&self, card: crate::records::store::Queued) -> Prepared {
        let renderer = self.renderer.clone();
        let order_id = card.data.order_id.clone();
        let rendered =
            tokio::task::spawn_blocking(move || renderer.render(&card.data, &card.photo))
                .await
                .expect("renderer panicked");
        Prepared { order_id, rendered }
    }

    /// Prints one card; returns the link if it is still usable, and the next
    /// card if it could be rendered meanwhile.
    async fn print_one(
        &self,
        l: Link,
        card: crate::records::store::Queued,
        status: &Status,
        prepared: Option<Prepared>,
        shutdown: &Shutdown,
    ) -> (Option<Link>, Option<Prepared>) {
        let id = card.data.order_id.clone();
        let rendered = match prepared {
            // Rendered from the same stored order while the last card printed.
            Some(p) if p.order_id == id => p.rendered,
            _ => self.render(card.clone()).await.rendered,
        };
        let rendered = match rendered {
            Ok(r) => r,
            Err(e) => {
                let (code, message) = match &e {
                    RenderError::Rejected(r) => (r.code.as_str().to_string(), r.message.clone()),
                    RenderError::Template(m) => ("render_failed".into(), m.clone()),
                };
                error!(order_id = %id, %code, "card cannot be rendered; held");
                if let Err(e) = self.store.hold(&id, &code, &message, &[]).await {
                    error!(error = %e, "cannot hold order");
                }
                return (Some(l), None);
            }
        };
        for w in &rendered.warnings {
            warn!(order_id = %id, warning = %w, "rendering");
        }
        // Rendering took a moment: a stop asked for meanwhile starts no card.
        if shutdown.is_set() {
            return (Some(l), None);
        }
        let (model, serial) = (l.identity().model.clone(), l.identity().serial.clone());
        match self.store.mark_printing(&id, &model, &serial).await {
            Ok(Start::Started) => {}
            Ok(Start::Gone) => return (Some(l), None), // cancelled or revoked meanwhile
            Ok(Start::NoBlank) => {
                // The stack ran out (or was unloaded) since the card was
                // chosen: it waits for blanks, and a batch pauses.
                warn!(order_id = %id, "no blank loaded for the card; it waits");
                return (Some(l), None);
            }
            Err(e) => {
                error!(error = %e, "cannot record printing; card not started");
                return (Some(l), None);
            }
        }
        let view = self.view(&l, status);
        info!(order_id = %id, card = %card.data.card_number, "printing");
        let panels = rendered.panels;
        // While the printer works, the next card is rendered: the printer
        // should never wait for us.
        let next = async {
            match self.store.next_queued().await {
                Ok(Some(q)) => Some(self.render(q).await),
                _ => None,
            }
        };
        // The state says "printing" as the data goes out, not before it.
        let ((l, result), next, ()) = self
            .beating(async {
                tokio::join!(
                    blocking(l, move |p| p.print(&panels)),
                    next,
                    self.report(Some(view), true)
                )
            })
            .await;
        let (outcome, keep_link) = match result {
            Ok(report) => {
                let fields = PrintedFields {
                    card_number: card.data.card_number.clone(),
                    printer_model: l.identity().model.clone(),
                    printer_serial: l.identity().serial.clone(),
                    // A card outside batches has none; a batch's card is
                    // given its batch (and operator) by the store.
                    batch_id: None,
                    operator: self.operator.clone(),
                    blank_pattern: None,
                    blank_serial: None,
                };
                info!(order_id = %id, card = %card.data.card_number, bytes = report.bytes_sent, "card printed");
                (Outcome::Printed(fields), true)
            }
            Err(PrintError::NotStarted(e)) => {
                warn!(order_id = %id, error = %e, "printer lost before the card started; card stays queued");
                // A printer that answers but refuses the card (an IPP
                // printer with a full spool, say) reconnects at once: without
                // a pause it would be asked again several times a second.
                tokio::time::sleep(NOT_STARTED_PAUSE).await;
                (Outcome::Requeue, false)
            }
            Err(PrintError::Spoiled { cause, message }) => {
                warn!(order_id = %id, %cause, "blank spoiled; the card waits to be printed again once the fault is cleared");
                (Outcome::Spoiled(cause.as_str().to_string(), message), true)
            }
            Err(PrintError::NotReady(cause)) => {
                warn!(order_id = %id, %cause, "printer not ready; card stays queued");
                (Outcome::Requeue, true)
            }
            Err(e) => {
                let (cause, keep) = match &e {
                    PrintError::MidCard { cause, .. } => (cause.as_str().to_string(), true),
                    PrintError::LostMidCard(_) => ("disconnected".to_string(), false),
                    _ => ("protocol".to_string(), true),
                };
                error!(order_id = %id, %cause, error = %e, "card failed in the printer; held for checking");
                (Outcome::Held(cause, e.to_string()), keep)
            }
        };
        self.record_outcome(&id, &outcome).await;
        (keep_link.then_some(l), next)
    }

    /// A sample card (a real photo, "KARTA TESTOWA", the school's RSPO)
    /// printed between orders, recorded nowhere: the printer's own check.
    /// Never on numbered blanks: it would use one the register must account
    /// for.
    async fn print_test_card(&self, l: Link) -> Option<Link> {
        if self.store.counts().await.is_ok_and(|c| c.blanks_loaded > 0) {
            warn!("test card not printed: numbered blanks are loaded; unload them and put a plain card in the feeder");
            return Some(l);
        }
        let (renderer, school) = (self.renderer.clone(), self.school.clone());
        let rendered = tokio::task::spawn_blocking(move || test_card(&renderer, &school))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
        let panels = match rendered {
            Ok(r) => r.panels,
            Err(e) => {
                error!(error = %e, "the test card cannot be rendered");
                return Some(l);
            }
        };
        info!("printing a test card");
        let (l, result) = self.beating(blocking(l, move |p| p.print(&panels))).await;
        match result {
            Ok(r) => {
                info!(bytes = r.bytes_sent, "test card printed");
                Some(l)
            }
            Err(e) => {
                warn!(error = %e, "the test card failed; reconnecting");
                None
            }
        }
    }

    /// Writes what became of a card. A card that left the printer must be
    /// registered, so a failing database is retried until it answers.
    async fn record_outcome(&self, id: &str, outcome: &Outcome) {
        let mut delay = Duration::from_millis(100);
        loop {
            let r = match outcome {
                Outcome::Printed(fields) => self.store.mark_printed(id, fields).await,
                Outcome::Requeue => self.store.requeue(id).await,
                Outcome::Spoiled(cause, message) => {
                    self.store.spoil_and_requeue(id, cause, message).await
                }
                Outcome::Held(cause, error) => {
                    let message = format!(
                        "{error}; check the printer and the blank, then confirm or release it"
                    );
                    self.store
                        .hold(
                            id,
                            "needs_check",
                            &message,
                            &[Event::failed(id, cause, error)],
                        )
                        .await
                }
            };
            match r {
                Ok(()) => return,
                Err(crate::records::store::StoreError::Db(e)) => {
                    error!(order_id = %id, error = %e, retry_in = ?delay, "cannot record the card's outcome; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
                Err(e) => {
                    error!(order_id = %id, error = %e, "cannot record the card's outcome");
                    return;
                }
            }
        }
    }
}

/// What became of a card sent to the printer.
enum Outcome {
    Printed(PrintedFields),
    Requeue,
    Spoiled(String, String),
    /// Cause and error: nobody knows whether the card exists.
    Held(String, String),
}

/// The test card: the first sample order with its name replaced.
fn test_card(
    renderer: &Renderer,
    school: &str,
) -> Result<crate::card::render::RenderedCard, String> {
    use crate::card::message::{self, Inbound, TrustedKeys};
    let mut o = crate::card::sample::order(0);
    o["student"]["first_names"] = "KARTA".into();
    o["student"]["last_name"] = "TESTOWA".into();
    o["school"]["rspo"] = school.into();
    let raw = o.to_string();
    let Ok(Inbound::Order(m)) = message::parse(raw.as_bytes(), &TrustedKeys::default()) else {
        return Err("the sample order does not parse".into());
    };
    let order = crate::runtime::ingest::check(&m, renderer, school).map_err(|r| r.message)?;
    renderer
        .render(&order.data, &order.photo)
        .map_err(|e| e.to_string())
}
