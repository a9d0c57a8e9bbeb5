//! A whole station: store, MQTT, ingest, queue and publisher wired together
//! and run until shutdown.

use crate::card::message::TrustedKeys;
use crate::card::profile::Profiles;
use crate::card::render::Renderer;
use crate::records::store::Store;
use crate::runtime::ingest::{Checker, Ingest};
use crate::runtime::mqtt::{self, Publisher};
use crate::runtime::notify::{self, Heartbeat};
use crate::runtime::queue::Queue;
use crate::runtime::shutdown::{self, Shutdown};
use crate::runtime::state::StateReport;
use crate::runtime::topics::Topics;
use crate::settings::Settings;
use legitka_drivers::PrinterUri;
use legitka_sim::{spawn_pty, SimConfig, SimHandle, SimPrinter};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::{mpsc, watch, Notify};
use tracing::{info, warn};

#[derive(Debug, Error)]
pub enum StationError {
    #[error(transparent)]
    Profile(#[from] crate::card::profile::ProfileError),
    #[error(transparent)]
    Store(#[from] crate::records::store::StoreError),
    #[error(transparent)]
    Mqtt(#[from] mqtt::MqttError),
    #[error("printer: {0}")]
    Printer(String),
    #[error("central_keys: {0}")]
    Keys(String),
    #[error("data_dir {0}: {1}")]
    DataDir(String, std::io::Error),
    /// The printer or its CUPS queue cannot be used as configured (a queue
    /// that retries failed jobs, a profile that is not for IPP).
    #[error("printer: {0}")]
    PrinterSetup(String),
    /// The configured school lines do not fit a layout: every order would
    /// be refused.
    #[error("{0}")]
    SchoolCard(String),
    #[error(transparent)]
    Locked(#[from] crate::runtime::lock::LockError),
}

impl StationError {
    /// Whether only an edit of the configuration (or the profiles it names)
    /// can mend this.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            StationError::Profile(_)
                | StationError::Mqtt(_)
                | StationError::Keys(_)
                | StationError::SchoolCard(_)
                | StationError::Locked(_)
                | StationError::PrinterSetup(_)
        ) || matches!(self, StationError::Printer(m) if m.contains("uri"))
    }
}

/// Starts the printer simulator for `printer.uri = "sim"` and returns the
/// serial line it listens on. It writes card images only where asked: they
/// carry a child's photo and PESEL.
fn start_simulator(settings: &Settings, profiles: &Profiles) -> Result<PrinterUri, StationError> {
    let profile = profiles.printer(&settings.printer.profile)?;
    let sim = SimHandle::new(SimPrinter::new(SimConfig {
        width: profile.width_px,
        height: profile.height_px,
        ribbon: profile.ribbon.clone(),
        card_time: Duration::from_secs_f32(settings.printer.sim_card_seconds.max(0.0)),
        out_dir: settings.printer.sim_out_dir.clone(),
        // A station prints for days: nothing reads its cards back.
        keep_printed: Some(legitka_sim::KEEP_PRINTED),
        ..SimConfig::default()
    }));
    let path = spawn_pty(sim, Arc::new(AtomicBool::new(false)))
        .map_err(|e| StationError::Printer(format!("cannot start the simulator: {e}")))?;
    warn!(%path, "printing to the built-in simulator: no card leaves this station");
    Ok(PrinterUri::Serial(path))
}

/// The school's configured lines against every layout, before the store,
/// the broker or the printer: a school whose name cannot fit would
/// otherwise learn it from the refusal of every order.
fn check_school_card(settings: &Settings, renderer: &Renderer) -> Result<(), StationError> {
    let Some(school) = settings.school_card() else {
        info!(
            "no [school_card] in the configuration: the school's lines are checked per order only"
        );
        return Ok(());
    };
    let misfits = crate::card::school::check(renderer, school);
    if misfits.is_empty() {
        info!("the school's lines fit every layout");
        return Ok(());
    }
    Err(StationError::SchoolCard(
        misfits
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join("; "),
    ))
}

/// How often deleted personal data is pushed out of the write-ahead log.
const PURGE_CHECKPOINT: Duration = Duration::from_secs(2);

pub async fn run(settings: Settings, mut shutdown: Shutdown) -> Result<(), StationError> {
    std::fs::create_dir_all(&settings.data_dir)
        .map_err(|e| StationError::DataDir(settings.data_dir.display().to_string(), e))?;
    // Before the database is touched: a second daemon must not hold the
    // first one's card in the printer as interrupted.
    let _lock = crate::runtime::lock::DaemonLock::take(&settings.data_dir)?;
    let profiles = match &settings.profiles_dir {
        Some(d) => Profiles::load_dir(d)?,
        None => Profiles::builtin(),
    };
    let profile = profiles.printer(&settings.printer.profile)?.clone();
    let renderer = Arc::new(Renderer::new(profiles.clone(), profile.clone()));
    check_school_card(&settings, &renderer)?;
    let uri: PrinterUri = settings
        .printer
        .uri
        .parse()
        .map_err(|e: legitka_drivers::TransportError| StationError::Printer(e.to_string()))?;
    let uri = match uri {
        PrinterUri::Sim => start_simulator(&settings, &profiles)?,
        PrinterUri::Ipp(address) => {
            let address = match &settings.printer.ca_file {
                Some(f) => std::fs::read(f)
                    .map_err(|e| e.to_string())
                    .and_then(|pem| address.trusting(&pem).map_err(|e| e.to_string()))
                    .map_err(|e| {
                        StationError::PrinterSetup(format!("printer.ca_file {}: {e}", f.display()))
                    })?,
                None => address,
            };
            check_ipp_queue(&address, &profile).await?;
            PrinterUri::Ipp(address)
        }
        other => other,
    };
    let keys = TrustedKeys::from_config(&settings.central_keys, settings.require_signed)
        .map_err(StationError::Keys)?;
    let store = Store::open(&settings.db_path(), &settings.station)
        .await?
        .with_mode(settings.queue.mode);
    let held = store.hold_interrupted().await?;
    if !held.is_empty() {
        warn!(
            count = held.len(),
            "cards interrupted mid-print are held for an operator"
        );
    }
    let topics = Topics::new(
        &settings.mqtt.prefix,
        &settings.school,
        &settings.station,
        settings.mqtt.shared,
    );
    let will = serde_json::json!({ "online": false, "station": settings.station }).to_string();
    let opts = mqtt::options(
        &settings.mqtt,
        &format!("station-{}", settings.station),
        Some((topics.state.clone(), will.into_bytes())),
    )?;
    let (client, eventloop) = mqtt::client(opts);

    let (inbound_tx, inbound_rx) = mpsc::unbounded_channel();
    let (acker, acks, budget) = mqtt::inbound();
    let (feedback_tx, feedback_rx) = mpsc::unbounded_channel();
    let (link_tx, link_rx) = watch::channel(mqtt::Link::default());
    let initial = StateReport {
        station: settings.station.clone(),
        printer: None,
        printing_now: false,
        queue: store.counts().await?,
    };
    let (state_tx, state_rx) = watch::channel(initial.to_json());
    let outbox_ready = Arc::new(Notify::new());
    let queue_ready = Arc::new(Notify::new());
    let heartbeat = Heartbeat::default();

    let pump = tokio::spawn(mqtt::pump(
        eventloop,
        mqtt::PumpParts {
            client: client.clone(),
            settings: settings.mqtt.clone(),
            subscriptions: topics.subscriptions(),
            inbound: inbound_tx,
            acks,
            budget,
            feedback: feedback_tx,
            link: link_tx,
        },
    ));
    let ingest = Ingest {
        store: store.clone(),
        checker: Arc::new(Checker {
            renderer: renderer.clone(),
            keys,
            school: settings.school.clone(),
        }),
        topics: topics.clone(),
        acker,
        outbox_ready: outbox_ready.clone(),
        queue_ready: queue_ready.clone(),
    };
    let ingest = tokio::spawn(ingest.run(inbound_rx));
    let (net_trigger, net_stop) = shutdown::channel();
    let publisher = tokio::spawn(mqtt::publish_loop(
        Publisher::new(client.clone(), feedback_rx),
        store.clone(),
        topics.clone(),
        state_rx.clone(),
        outbox_ready.clone(),
        link_rx.clone(),
        net_stop.clone(),
    ));
    let notifier = tokio::spawn(notify::run(
        link_rx,
        state_rx.clone(),
        heartbeat.clone(),
        net_stop.clone(),
    ));
    let keeper = tokio::spawn(retention(
        store.clone(),
        settings.retention.clone(),
        outbox_ready.clone(),
        queue_ready.clone(),
        net_stop.clone(),
    ));
    let purger = tokio::spawn(purge_checkpoints(store.clone(), net_stop));
    let (web_trigger, mut web_stop) = shutdown::channel();
    let test_cards = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let web_parts = crate::web::WebParts {
        settings: settings.clone(),
        store: store.clone(),
        renderer: renderer.clone(),
        state: state_rx,
        queue_ready: queue_ready.clone(),
        test_cards: test_cards.clone(),
    };
    // A page that cannot be served (its port taken) is said at once and
    // loudly, but the station goes on printing: the CLI does all it does.
    let web = tokio::spawn(async move {
        if let Err(e) = crate::web::serve(web_parts, async move { web_stop.wait().await }).await {
            tracing::error!(error = %e, "the web page is not served");
        }
    });
    let queue = Queue {
        store: store.clone(),
        renderer,
        uri,
        profile,
        station: settings.station.clone(),
        operator: settings.printer.operator.clone(),
        state: state_tx,
        queue_ready,
        outbox_ready,
        heartbeat,
        test_cards,
        school: settings.school.clone(),
    };
    info!(station = %settings.station, school = %settings.school, "station running");
    let mut queue = tokio::spawn(queue.run(shutdown.clone()));
    let stopped_early = tokio::select! {
        _ = shutdown.wait() => { let _ = (&mut queue).await; false }
        // The queue ends only on shutdown: if it ends otherwise (a panic),
        // stop the station so the service manager restarts it, rather than
        // accept orders nobody prints.
        r = &mut queue => {
            let early = !shutdown.is_set();
            if early {
                tracing::error!(result = ?r.err(), "print queue stopped unexpectedly");
            }
            early
        }
    };
    // The card in the printer is recorded; now say goodbye on the broker,
    // within a bound whatever the network does.
    web_trigger.fire();
    net_trigger.fire();
    let _ = tokio::time::timeout(Duration::from_secs(6), publisher).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), pump).await;
    ingest.abort();
    let _ = notifier.await;
    if tokio::time::timeout(Duration::from_secs(3), web)
        .await
        .is_err()
    {
        warn!("the web page did not stop within 3 s");
    }
    let _ = purger.await;
    let _ = keeper.await;
    if let Err(e) = store.checkpoint().await {
        warn!(error = %e, "cannot checkpoint the database");
    }
    if stopped_early {
        return Err(StationError::Printer(
            "the print queue stopped unexpectedly".into(),
        ));
    }
    info!("station stopped");
    Ok(())
}

/// An IPP printer is asked once at start: a CUPS queue whose error policy
/// retries failed jobs could print a card twice, so the station does not
/// start on it (exit 78, the `lpadmin` line that mends it in the message). A
/// printer that does not answer yet is the queue's to wait for.
async fn check_ipp_queue(
    address: &legitka_drivers::ipp::Endpoint,
    profile: &crate::card::profile::PrinterProfile,
) -> Result<(), StationError> {
    if profile.protocol != "ipp" {
        return Err(StationError::PrinterSetup(format!(
            "printer.uri {address} is an IPP printer, but the profile {:?} is for protocol {:?}: choose one with protocol = \"ipp\" (ipp-everywhere, magicard-gutenprint, zebra-zc300, evolis-cups; `legitka printers probe {address}`)",
            profile.model, profile.protocol
        )));
    }
    let a = address.clone();
    match tokio::task::spawn_blocking(move || legitka_drivers::ipp::describe(&a)).await {
        Ok(Ok(d)) if d.retries_jobs() => Err(StationError::PrinterSetup(format!(
            "the CUPS queue {address} sends a failed job again (printer-error-policy={}), and a card could print twice; run: {}",
            d.error_policy.unwrap_or_default(),
            legitka_drivers::ipp::abort_policy_fix(&legitka_drivers::ipp::resolve(address.as_str()))
        ))),
        Ok(Ok(d)) => {
            info!(printer = %d.make_and_model, policy = ?d.error_policy, "IPP printer answers");
            Ok(())
        }
        Ok(Err(e)) => {
            warn!(error = %e, "the IPP printer does not answer yet");
            Ok(())
        }
        Err(e) => Err(StationError::Printer(e.to_string())),
    }
}

/// How often the retention rules are applied (and once at start).
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Keeps only what is needed (`[retention]`): at start and hourly.
async fn retention(
    store: Store,
    rules: crate::settings::RetentionSettings,
    outbox_ready: Arc<Notify>,
    queue_ready: Arc<Notify>,
    mut stop: Shutdown,
) {
    loop {
        match store
            .retention_pass(rules.order_days, rules.audit_months)
            .await
        {
            Ok(run) => {
                if run.orders_expired > 0 {
                    info!(
                        orders = run.orders_expired,
                        days = rules.order_days,
                        "orders not printed in time: their data is deleted and the central system told"
                    );
                    outbox_ready.notify_one();
                    queue_ready.notify_one();
                }
                if run.audit_deleted + run.outbox_deleted > 0 {
                    info!(
                        audit = run.audit_deleted,
                        events = run.outbox_deleted,
                        months = rules.audit_months,
                        "old audit lines and sent events deleted"
                    );
                }
                if let Err(e) = store.checkpoint_if_purged().await {
                    warn!(error = %e, "cannot checkpoint the database after retention");
                }
            }
            Err(e) => warn!(error = %e, "cannot apply the retention rules"),
        }
        tokio::select! {
            _ = tokio::time::sleep(RETENTION_EVERY) => {}
            _ = stop.wait() => return,
        }
    }
}

/// Photos and PESELs deleted from the database must not live on in the
/// write-ahead log: it is emptied shortly after each purge.
async fn purge_checkpoints(store: Store, mut stop: Shutdown) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(PURGE_CHECKPOINT) => {}
            _ = stop.wait() => return,
        }
        if let Err(e) = store.checkpoint_if_purged().await {
            warn!(error = %e, "cannot checkpoint the database after a purge");
        }
    }
}
