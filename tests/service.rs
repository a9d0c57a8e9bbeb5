//! The daemon as systemd sees it (`Type=notify`): READY=1 once database,
//! broker and printer are up, STATUS= lines, WATCHDOG=1 while the queue runs,
//! STOPPING=1 on SIGTERM; and a configuration it cannot use ends it with
//! EX_CONFIG (78), which the unit does not restart.

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_service_manager_hears_ready_status_watchdog_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let (_sim, pty) = common::simulator(Duration::ZERO);
    let s = common::settings(dir.path(), &pty);
    let config = dir.path().join("legitka.toml");
    common::write_config(&s, &config);
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_legitka"))
        .args(["daemon", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "2000000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut heard = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline
        && !(heard.iter().any(|m: &String| m.contains("READY=1"))
            && heard.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 3)
    {
        if let Ok(n) = socket.recv(&mut buf) {
            heard.push(String::from_utf8_lossy(&buf[..n]).to_string());
        }
    }
    let ready = heard.iter().position(|m| m.contains("READY=1"));
    assert!(ready.is_some(), "READY=1 never came: {heard:?}");
    assert!(
        heard
            .iter()
            .any(|m| m.contains("STATUS=printer ") && m.contains("broker: connected")),
        "{heard:?}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && !heard.iter().any(|m| m.contains("STOPPING=1")) {
        if let Ok(n) = socket.recv(&mut buf) {
            heard.push(String::from_utf8_lossy(&buf[..n]).to_string());
        }
    }
    assert!(heard.iter().any(|m| m.contains("STOPPING=1")), "{heard:?}");
    assert!(daemon.wait().unwrap().success());
}

#[test]
fn a_configuration_error_ends_the_daemon_with_ex_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("legitka.toml");
    std::fs::write(
        &config,
        "school = \"12345\"\nstation = \"s1\"\ndata_dir = \"/tmp/x\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:1\"\n[printer]\nuri = \"usb:auto\"\n[central-keys]\nk = \"x\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_legitka"))
        .args(["daemon", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("central-keys") && err.contains("legitka.toml"),
        "{err}"
    );
}

#[test]
fn a_school_whose_address_cannot_fit_is_refused_at_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("legitka.toml");
    let address = "ul. Księcia Józefa Poniatowskiego 123/45, 41-600 Świętochłowice ".repeat(3);
    std::fs::write(
        &config,
        format!(
            "school = \"12345\"\nstation = \"s1\"\ndata_dir = {:?}\n[mqtt]\nurl = \"mqtt://127.0.0.1:1\"\n[printer]\nuri = \"sim\"\n[school_card]\nname = \"Szkoła Podstawowa nr 7\"\naddress = \"{}\"\n",
            dir.path().join("data"),
            address.trim()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_legitka"))
        .args(["daemon", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("school_card.address does not fit the MEiN-I/1 layout"),
        "{err}"
    );
    // Refused before the first order: no database was made.
    assert!(!dir.path().join("data/legitka.db").exists());
    // `templates check --config` says the same.
    let out = Command::new(env!("CARGO_BIN_EXE_legitka"))
        .args(["templates", "check", "--profiles"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        said.contains("school_card.address does not fit the MEiN-I/3-N layout"),
        "{said}"
    );
}
