//! The first day of the school year: a whole school's orders published to
//! the broker at once. Measured from the first publish to the last
//! `order.accepted` (each order validated, stored durably, acknowledged after
//! its commit), with the station as its own process (`legitka daemon`), so
//! its peak memory (VmHWM) is the station's alone.
//!
//! The broker is a private Mosquitto started here when `mosquitto` is
//! installed (with `max_queued_messages 0`: Mosquitto's default of 1000
//! would drop most of a school's orders before any station could take them),
//! else the embedded one. `LEGITKA_BURST` sets the burst (default 5000).
//!
//!     cargo bench --bench burst

use criterion::{criterion_group, criterion_main, Criterion};
use legitka::runtime::central::Central;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SCHOOL: &str = legitka::card::sample::SCHOOL_RSPO;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private Mosquitto, or None when it is not installed.
fn mosquitto(dir: &Path) -> Option<(Child, u16)> {
    let bin = ["mosquitto", "/usr/sbin/mosquitto"]
        .into_iter()
        .find(|b| Command::new(b).arg("-h").output().is_ok())?;
    let port = free_port();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "user root\nlistener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nlog_dest stderr\n"
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create("target/burst-mosquitto.log").ok()?)
        .spawn()
        .ok()?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((child, port));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Peak resident memory of a process, in MB.
fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// One burst against a fresh station; returns the time to accept it all.
async fn burst(port: u16, orders: &[Vec<u8>], peaks: &mut Vec<f64>) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let station = format!("bench-{}", &tag[..8]);
    let prefix = format!("legitka-bench/{tag}");
    let config = dir.path().join("legitka.toml");
    // A printer at a real printer's pace: the burst is about taking orders.
    std::fs::write(
        &config,
        format!(
            "school = \"{SCHOOL}\"\nstation = \"{station}\"\ndata_dir = \"{}\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:{port}\"\nprefix = \"{prefix}\"\n[printer]\nuri = \"sim\"\nsim_card_seconds = 20.0\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let mut central = Central::connect("127.0.0.1", port, &prefix, SCHOOL, &station).await;
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_legitka"))
        .args(["daemon", "--config"])
        .arg(&config)
        .env(
            "LEGITKA_LOG",
            std::env::var("LEGITKA_LOG").unwrap_or("warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create("target/burst-daemon.log").unwrap())
        .spawn()
        .expect("legitka daemon starts");
    central
        .wait_state(Duration::from_secs(60), |s| s["online"] == true)
        .await
        .expect("station online");
    let topic = central.topics.orders.clone();
    let started = Instant::now();
    for o in orders {
        central.publish(&topic, o.clone()).await;
    }
    let accepted = central
        .wait_count("order.accepted", orders.len(), Duration::from_secs(600))
        .await;
    let took = started.elapsed();
    assert_eq!(accepted, orders.len(), "every order accepted");
    peaks.push(peak_rss_mb(daemon.id()));
    if std::env::var_os("LEGITKA_BURST_CPU").is_some() {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", daemon.id())).unwrap();
        let f: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
        eprintln!(
            "station cpu {:.2} s in {:.2} s",
            ticks / 100.0,
            took.as_secs_f64()
        );
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    daemon.wait().unwrap();
    took
}

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("LEGITKA_BURST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let dir = tempfile::tempdir().unwrap();
    let (broker, port) = match mosquitto(dir.path()) {
        Some((child, port)) => (Some(child), port),
        None => {
            eprintln!("mosquitto not installed: the embedded broker is used");
            (None, legitka::runtime::broker::start_embedded().unwrap())
        }
    };
    let orders: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            legitka::card::sample::order_large(i)
                .to_string()
                .into_bytes()
        })
        .collect();
    eprintln!("{n} orders of {} KiB each", orders[0].len() / 1024);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut peaks = Vec::new();
    let mut group = c.benchmark_group("burst");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(60))
        .throughput(criterion::Throughput::Elements(n as u64));
    group.bench_function(format!("accept_{n}_orders"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(burst(port, &orders, &mut peaks));
            }
            total
        })
    });
    group.finish();
    peaks.sort_by(f64::total_cmp);
    if let (Some(min), Some(max)) = (peaks.first(), peaks.last()) {
        eprintln!(
            "station peak RSS over {} bursts: median {:.1} MB, min {min:.1} MB, max {max:.1} MB",
            peaks.len(),
            peaks[peaks.len() / 2]
        );
    }
    if let Some(mut b) = broker {
        let _ = b.kill();
        let _ = b.wait();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
