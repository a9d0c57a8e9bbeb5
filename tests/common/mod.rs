//! What the integration tests share: a real broker (embedded, or the one
//! named in LEGITKA_TEST_MQTT, e.g. 127.0.0.1:1883 for Mosquitto), the real
//! simulator on a pseudo-terminal, and a station wired to both.
#![allow(dead_code)]

pub mod cli;
pub mod cups;
pub mod mosquitto;
pub mod records;
pub mod web;

use legitka::runtime::central::Central;
use legitka::runtime::shutdown::{self, Trigger};
use legitka::settings::Settings;
use legitka_sim::{spawn_pty, SimConfig, SimHandle, SimPrinter};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub const SCHOOL: &str = legitka::card::sample::SCHOOL_RSPO;

/// The broker for this test process.
pub fn broker() -> (String, u16) {
    static EMBEDDED: OnceLock<u16> = OnceLock::new();
    if let Ok(addr) = std::env::var("LEGITKA_TEST_MQTT") {
        let (host, port) = addr
            .rsplit_once(':')
            .expect("LEGITKA_TEST_MQTT is host:port");
        return (host.to_string(), port.parse().expect("port"));
    }
    let port = *EMBEDDED
        .get_or_init(|| legitka::runtime::broker::start_embedded().expect("embedded broker"));
    ("127.0.0.1".into(), port)
}

pub fn simulator(card_time: Duration) -> (SimHandle, String) {
    simulator_with(SimConfig {
        card_time,
        ..SimConfig::default()
    })
}

pub fn simulator_with(config: SimConfig) -> (SimHandle, String) {
    let sim = SimHandle::new(SimPrinter::new(config));
    let path = spawn_pty(sim.clone(), Arc::new(AtomicBool::new(false))).expect("pty");
    (sim, path)
}

/// Settings for a station with its own topics, so tests sharing a broker
/// never see each other's messages.
pub fn settings(dir: &std::path::Path, pty: &str) -> Settings {
    let (host, port) = broker();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let mut s = Settings::local(
        &format!("t-{}", &tag[..12]),
        dir,
        &format!("mqtt://{host}:{port}"),
        &format!("legitka-test/{tag}"),
        &format!("serial:{pty}"),
    );
    s.printer.operator = Some("test".into());
    s
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub sim: SimHandle,
    pub settings: Settings,
    pub central: Central,
    trigger: Option<Trigger>,
    station: Option<tokio::task::JoinHandle<Result<(), legitka::runtime::station::StationError>>>,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Settings)) -> Self {
        Self::start_full(SimConfig::default(), tweak).await
    }

    pub async fn start_sim(config: SimConfig) -> Self {
        Self::start_full(config, |_| {}).await
    }

    pub async fn start_full(config: SimConfig, tweak: impl FnOnce(&mut Settings)) -> Self {
        let (sim, pty) = simulator_with(config);
        Self::start_on(sim, &format!("serial:{pty}"), tweak).await
    }

    /// A station on a simulator the test started itself (TCP, say); `tweak`
    /// sets the printer uri.
    pub async fn start_with_sim(sim: SimHandle, tweak: impl FnOnce(&mut Settings)) -> Self {
        Self::start_on(sim, "sim", tweak).await
    }

    /// A station on a broker of the test's own (a private Mosquitto).
    pub async fn start_on_broker(config: SimConfig, host: &str, port: u16) -> Self {
        let (sim, pty) = simulator_with(config);
        let url = format!("mqtt://{host}:{port}");
        Self::start_on(sim, &format!("serial:{pty}"), |s| s.mqtt.url = url).await
    }

    async fn start_on(sim: SimHandle, uri: &str, tweak: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = settings(dir.path(), "unused");
        settings.printer.uri = uri.to_string();
        tweak(&mut settings);
        let url = url::Url::parse(&settings.mqtt.url).expect("mqtt url");
        let (host, port) = (
            url.host_str().expect("host").to_string(),
            url.port().expect("port"),
        );
        let central = Central::connect(
            &host,
            port,
            &settings.mqtt.prefix,
            SCHOOL,
            &settings.station,
        )
        .await;
        let (trigger, stop) = shutdown::channel();
        let station = tokio::spawn(legitka::runtime::station::run(settings.clone(), stop));
        let mut central = central;
        // The station subscribes before it first publishes its state: once the
        // state is seen, orders reach it.
        central
            .wait_state(Duration::from_secs(30), |s| s["online"] == true)
            .await
            .expect("station comes online");
        Harness {
            dir,
            sim,
            settings,
            central,
            trigger: Some(trigger),
            station: Some(station),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.settings.db_path()
    }

    /// Waits for an event of `kind` about `order_id`.
    pub async fn wait_for(&mut self, order_id: &str, kind: &str) -> serde_json::Value {
        let (id, k) = (order_id.to_string(), kind.to_string());
        let ok = self
            .central
            .wait_events(Duration::from_secs(60), |ev| {
                ev.iter()
                    .any(|e| e["order_id"] == id.as_str() && e["type"] == k.as_str())
            })
            .await;
        assert!(ok, "no {kind} for {order_id}; saw {:#?}", self.central.seen);
        self.central
            .events_for(order_id, kind)
            .next()
            .unwrap()
            .clone()
    }

    /// Sends sample orders `from..from + n` and returns their ids.
    pub async fn send_orders(&self, from: usize, n: usize) -> Vec<String> {
        let mut ids = Vec::new();
        for i in from..from + n {
            let o = legitka::card::sample::order(i);
            self.central.send_order(&o).await;
            ids.push(o["order_id"].as_str().unwrap().to_string());
        }
        ids
    }

    pub async fn stop(mut self) -> Self {
        if let Some(t) = self.trigger.take() {
            t.fire();
        }
        if let Some(s) = self.station.take() {
            tokio::time::timeout(Duration::from_secs(30), s)
                .await
                .expect("station stops within 30 s")
                .unwrap()
                .unwrap();
        }
        self
    }
}

/// The configuration file a `legitka daemon` child process runs with.
pub fn write_config(s: &legitka::settings::Settings, path: &std::path::Path) {
    let toml = format!(
        "school = \"{}\"\nstation = \"{}\"\ndata_dir = \"{}\"\n[mqtt]\nurl = \"{}\"\nprefix = \"{}\"\n[printer]\nuri = \"{}\"\noperator = \"auto\"\n[http]\nlisten = \"{}\"\n",
        s.school,
        s.station,
        s.data_dir.display(),
        s.mqtt.url,
        s.mqtt.prefix,
        s.printer.uri,
        s.http.listen
    );
    std::fs::write(path, toml).unwrap();
}

/// `legitka daemon` in a process of its own, as systemd runs it; its log
/// in `log`.
pub fn daemon(config: &std::path::Path, log: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_legitka"))
        .args(["daemon", "--config"])
        .arg(config)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("daemon starts")
}

/// The central system, on the station's topics.
pub async fn central(settings: &Settings) -> Central {
    let (host, port) = broker();
    Central::connect(
        &host,
        port,
        &settings.mqtt.prefix,
        SCHOOL,
        &settings.station,
    )
    .await
}

/// Sends the orders and waits until every one is accepted: their ids.
pub async fn send_accepted(central: &mut Central, orders: &[serde_json::Value]) -> Vec<String> {
    let ids: Vec<String> = orders
        .iter()
        .map(|o| o["order_id"].as_str().unwrap().to_string())
        .collect();
    for o in orders {
        central.send_order(o).await;
    }
    assert!(
        central
            .wait_events(Duration::from_secs(60), |ev| ids.iter().all(|id| ev
                .iter()
                .any(
                    |e| e["order_id"] == id.as_str() && e["type"] == "order.accepted"
                )))
            .await,
        "every order accepted"
    );
    ids
}

/// Kills the daemon if the test fails before it stopped it.
pub struct KillOnDrop(Option<u32>);

pub fn kill_on_panic(pid: u32) -> KillOnDrop {
    KillOnDrop(Some(pid))
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(pid) = self.0 {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}
