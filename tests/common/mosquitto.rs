//! A private Mosquitto for one test: its own process, config and free
//! loopback port(s), so a test can kill it, restart it empty, or give it a TLS
//! listener, without touching the broker the other tests share.
//!
//! `Mosquitto::start` returns `None` (and says so) where the `mosquitto`
//! binary is not installed, so such tests pass there; CI installs it.
//!
//! Defaults of Mosquitto 2.0 that matter here (see `man mosquitto.conf`):
//! no `max_packet_size` and `message_size_limit 0` (deprecated: it logs a
//! note if set), so nothing below MQTT's 256 MiB is refused and a 7 MB order
//! passes; `max_inflight_messages 20` (outgoing, per client);
//! `max_queued_messages 1000` per client, beyond which QoS 1 messages for an
//! offline persistent session are dropped silently; `persistence false`.
//! A broker listening on a port has `allow_anonymous false` unless told:
//! the config sets it true.
#![allow(dead_code)]

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A TLS listener, besides the plain one.
#[derive(Debug, Clone)]
pub struct Tls {
    /// The CA that signed the clients' certificates (and the broker's).
    pub cafile: PathBuf,
    pub certfile: PathBuf,
    pub keyfile: PathBuf,
    /// Clients must present a certificate signed by `cafile`.
    pub require_certificate: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Adds a TLS listener on a second port (`tls_port()`); the plain
    /// listener (`port()`) is always there, for the test's own clients.
    pub tls: Option<Tls>,
    /// Keeps sessions and retained messages in the temp dir across
    /// `stop()` + `restart()` (Mosquitto writes its database on a clean stop
    /// and every `autosave_interval`; a SIGKILL loses what was not saved).
    /// Off: `restart()` gives an empty broker.
    pub persistence: bool,
    /// Raw global config lines, e.g. `"max_queued_messages 10"`.
    pub extra: Vec<String>,
}

pub struct Mosquitto {
    dir: tempfile::TempDir,
    binary: PathBuf,
    config: PathBuf,
    port: u16,
    tls_port: Option<u16>,
    /// The running process, and how many times it was started. Behind a
    /// lock so that `kill` and `restart` take `&self`: a test can hold the
    /// broker in closures or share it with tasks.
    child: Mutex<(Option<Child>, u32)>,
}

/// Where the broker is installed: `LEGITKA_TEST_MOSQUITTO` if set (a path;
/// `none` to skip these tests), else on PATH, or in the sbin directories
/// that are not on a normal user's PATH (Debian puts it in /usr/sbin).
pub fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LEGITKA_TEST_MOSQUITTO") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join("mosquitto"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a loopback port")
        .local_addr()
        .unwrap()
        .port()
}

fn accepts(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

impl Mosquitto {
    /// Starts a broker and waits until every listener accepts connections.
    /// `None` if Mosquitto is not installed.
    pub fn start(options: Options) -> Option<Mosquitto> {
        let Some(binary) = binary() else {
            eprintln!(
                "mosquitto not installed (or LEGITKA_TEST_MOSQUITTO names no file): skipping"
            );
            return None;
        };
        // A free port can be taken by someone else before Mosquitto binds
        // it: try again on new ports.
        let mut last_log = String::new();
        for _ in 0..5 {
            let dir = tempfile::Builder::new()
                .prefix("mosquitto-")
                .tempdir()
                .expect("temp dir");
            let port = free_port();
            let tls_port = options.tls.as_ref().map(|_| loop {
                let p = free_port();
                if p != port {
                    break p;
                }
            });
            let config = dir.path().join("mosquitto.conf");
            std::fs::write(&config, render_config(&options, dir.path(), port, tls_port))
                .expect("write mosquitto.conf");
            let m = Mosquitto {
                dir,
                binary: binary.clone(),
                config,
                port,
                tls_port,
                child: Mutex::new((None, 0)),
            };
            match m.spawn() {
                Ok(()) => return Some(m),
                Err(log) => last_log = log,
            }
        }
        panic!("mosquitto did not start; its log:\n{last_log}");
    }

    /// Runs the binary on the config and waits for its listeners. On failure
    /// the process is gone and the error is its log.
    fn spawn(&self) -> Result<(), String> {
        let mut guard = self.child.lock().unwrap();
        guard.1 += 1;
        let log_path = self.log_path();
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("open mosquitto log");
        writeln!(log, "---- start {} ----", guard.1).unwrap();
        let mut child = Command::new(&self.binary)
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("run mosquitto");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Err(format!("exited with {status}\n{}", self.log()));
            }
            // The plain listener is opened last (see `render_config`).
            if accepts(self.port) {
                guard.0 = Some(child);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no listener within 10 s\n{}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The plain listener's port, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TLS listener's port, on 127.0.0.1, if there is one.
    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// `mqtt://127.0.0.1:PORT`, for a station's `mqtt.url`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.lock().unwrap().0.as_ref().map(|c| c.id())
    }

    pub fn is_running(&self) -> bool {
        match self.child.lock().unwrap().0.as_mut() {
            Some(c) => c.try_wait().unwrap().is_none(),
            None => false,
        }
    }

    /// Everything the broker logged (stdout and stderr, all its runs).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("mosquitto.log")
    }

    /// The directory with the config, the log and the persistence file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// SIGKILL, and waits for the process to be gone: clients see their
    /// connections reset; nothing is saved.
    pub fn kill(&self) {
        let child = self.child.lock().unwrap().0.take();
        if let Some(mut c) = child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, and waits: a clean stop (the persistence file is written if
    /// `persistence` is on).
    pub fn stop(&self) {
        let child = self.child.lock().unwrap().0.take();
        if let Some(mut c) = child {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while c.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = c.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.wait();
        }
    }

    /// Kills the broker if it runs, and starts it again on the same ports
    /// with the same config: empty, unless `persistence` is on.
    pub fn restart(&self) {
        self.kill();
        // The ports were ours a moment ago; Mosquitto binds with
        // SO_REUSEADDR, but retry briefly in case the kernel lags.
        let mut last = String::new();
        for _ in 0..10 {
            match self.spawn() {
                Ok(()) => return,
                Err(log) => {
                    last = log;
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        panic!("mosquitto did not restart on its ports; its log:\n{last}");
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}

fn render_config(o: &Options, dir: &Path, port: u16, tls_port: Option<u16>) -> String {
    let mut c = String::new();
    let mut line = |s: String| {
        c.push_str(&s);
        c.push('\n');
    };
    // Run as root, stay root (Mosquitto would otherwise switch to the user
    // `mosquitto`, which cannot read a private temp dir); no effect as
    // another user.
    line("user root".into());
    line("log_dest stderr".into());
    line("log_type error".into());
    line("log_type warning".into());
    line("log_type notice".into());
    line("log_type information".into());
    line("connection_messages true".into());
    line("log_timestamp true".into());
    line("allow_anonymous true".into());
    if o.persistence {
        line("persistence true".into());
        line(format!("persistence_location {}/", dir.display()));
        line("persistence_file mosquitto.db".into());
    } else {
        line("persistence false".into());
    }
    for e in &o.extra {
        line(e.clone());
    }
    // Mosquitto opens its listeners in this order, so once the plain one
    // (last) accepts, the TLS one listens too: the start-up probe stays off
    // the TLS port, whose log would otherwise show a failed handshake.
    if let (Some(tls), Some(tls_port)) = (&o.tls, tls_port) {
        line(format!("listener {tls_port} 127.0.0.1"));
        line(format!("cafile {}", tls.cafile.display()));
        line(format!("certfile {}", tls.certfile.display()));
        line(format!("keyfile {}", tls.keyfile.display()));
        line(format!("require_certificate {}", tls.require_certificate));
    }
    line(format!("listener {port} 127.0.0.1"));
    c
}
