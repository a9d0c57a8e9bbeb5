//! TLS to the broker, for real: a private Mosquitto with a TLS listener that
//! requires client certificates, certificates made here with rcgen. The
//! station connects over TLS; the test's stand-in for the central system
//! talks to the same broker on its plain listener.
//!
//! Skipped (passes, saying why) where Mosquitto is not installed.

mod common;

use common::mosquitto::{Mosquitto, Options, Tls};
use legitka::runtime::central::Central;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// PEM files in one directory.
struct Pki {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    /// A CA that signed nothing here.
    other_ca: PathBuf,
}

fn new_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(p, key))
}

fn new_leaf(
    cn: &str,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'_, KeyPair>,
) -> (String, String) {
    let mut p =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.use_authority_key_identifier_extension = true;
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    fn generate(dir: &Path) -> Pki {
        let (ca_pem, ca) = new_ca("legitka test CA");
        let (other_pem, _) = new_ca("legitka unrelated CA");
        let (server_cert, server_key) = new_leaf(
            "localhost",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
            &ca,
        );
        let (client_cert, client_key) =
            new_leaf("station", &[], ExtendedKeyUsagePurpose::ClientAuth, &ca);
        let write = |name: &str, pem: &str| {
            let p = dir.join(name);
            std::fs::write(&p, pem).unwrap();
            p
        };
        Pki {
            ca: write("ca.pem", &ca_pem),
            server_cert: write("server.pem", &server_cert),
            server_key: write("server-key.pem", &server_key),
            client_cert: write("client.pem", &client_cert),
            client_key: write("client-key.pem", &client_key),
            other_ca: write("other-ca.pem", &other_pem),
        }
    }
}

/// A broker with a plain listener and a TLS one that wants client
/// certificates signed by `pki.ca`.
fn broker(pki: &Pki) -> Option<Mosquitto> {
    Mosquitto::start(Options {
        tls: Some(Tls {
            cafile: pki.ca.clone(),
            certfile: pki.server_cert.clone(),
            keyfile: pki.server_key.clone(),
            require_certificate: true,
        }),
        ..Options::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn station_prints_over_tls_with_a_client_certificate() {
    let started = Instant::now();
    let certs = tempfile::tempdir().unwrap();
    let pki = Pki::generate(certs.path());
    let Some(mosquitto) = broker(&pki) else {
        return;
    };
    let tls_port = mosquitto.tls_port().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (sim, pty) = common::simulator(Duration::ZERO);
    let mut settings = common::settings(dir.path(), &pty);
    // `localhost`, not 127.0.0.1: the name the certificate is checked against.
    settings.mqtt.url = format!("mqtts://localhost:{tls_port}");
    settings.mqtt.ca_file = Some(pki.ca.clone());
    settings.mqtt.client_cert = Some(pki.client_cert.clone());
    settings.mqtt.client_key = Some(pki.client_key.clone());

    let mut central = Central::connect(
        mosquitto.host(),
        mosquitto.port(),
        &settings.mqtt.prefix,
        common::SCHOOL,
        &settings.station,
    )
    .await;
    let (trigger, stop) = legitka::runtime::shutdown::channel();
    let station = tokio::spawn(legitka::runtime::station::run(settings.clone(), stop));

    let online = central
        .wait_state(Duration::from_secs(30), |s| s["online"] == true)
        .await;
    assert!(
        online.is_some(),
        "station online over TLS; broker log:\n{}",
        mosquitto.log()
    );

    let online_in = started.elapsed();
    let order = legitka::card::sample::order(0);
    let id = order["order_id"].as_str().unwrap().to_string();
    central.send_order(&order).await;
    let printed = central
        .wait_events(Duration::from_secs(60), |ev| {
            ev.iter()
                .any(|e| e["order_id"] == id.as_str() && e["type"] == "card.printed")
        })
        .await;
    assert!(printed, "no card.printed; saw {:#?}", central.seen);
    assert_eq!(sim.printed_count(), 1);
    let printed_in = started.elapsed();

    trigger.fire();
    tokio::time::timeout(Duration::from_secs(30), station)
        .await
        .expect("station stops within 30 s")
        .unwrap()
        .unwrap();
    // The station said goodbye over TLS: its last retained state is offline.
    assert!(central
        .wait_state(Duration::from_secs(10), |s| s["online"] == false)
        .await
        .is_some());
    // The broker saw the station on its TLS port, and no failed handshake.
    let log = mosquitto.log();
    assert!(
        log.contains(&format!("as station-{} ", settings.station)),
        "broker log:\n{log}"
    );
    assert!(
        !log.contains("OpenSSL Error") && !log.contains("failed: error"),
        "broker log:\n{log}"
    );
    eprintln!(
        "over TLS: online in {online_in:?}, printed in {printed_in:?}, stopped in {:?}",
        started.elapsed()
    );
}

use common::daemon;

fn toml_str(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

/// The log without terminal colour codes.
fn read_log(path: &Path) -> String {
    let raw = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_certificate_from_another_ca_is_refused_and_said_so() {
    let started = Instant::now();
    let certs = tempfile::tempdir().unwrap();
    let pki = Pki::generate(certs.path());
    let Some(mosquitto) = broker(&pki) else {
        return;
    };
    let tls_port = mosquitto.tls_port().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (sim, pty) = common::simulator(Duration::ZERO);
    let settings = common::settings(dir.path(), &pty);
    let config = dir.path().join("legitka.toml");
    std::fs::write(
        &config,
        format!(
            "school = \"{}\"\nstation = \"{}\"\ndata_dir = {}\n\
             [mqtt]\nurl = \"mqtts://localhost:{tls_port}\"\nprefix = \"{}\"\n\
             ca_file = {}\nclient_cert = {}\nclient_key = {}\n\
             [printer]\nuri = \"{}\"\noperator = \"auto\"\n",
            settings.school,
            settings.station,
            toml_str(&settings.data_dir),
            settings.mqtt.prefix,
            toml_str(&pki.other_ca),
            toml_str(&pki.client_cert),
            toml_str(&pki.client_key),
            settings.printer.uri,
        ),
    )
    .unwrap();
    let mut central = Central::connect(
        mosquitto.host(),
        mosquitto.port(),
        &settings.mqtt.prefix,
        common::SCHOOL,
        &settings.station,
    )
    .await;

    let log = dir.path().join("daemon.log");
    let mut child = daemon(&config, &log);
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let kill_on_panic = common::kill_on_panic(child.id());

    // A clear error, naming the certificate problem, within 10 s.
    let deadline = Instant::now() + Duration::from_secs(10);
    let said = loop {
        let text = read_log(&log).to_lowercase();
        if text
            .lines()
            .any(|l| l.contains("unknownissuer") && l.contains("certificate"))
        {
            break true;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the daemon exited ({status}) instead of retrying:\n{}",
                read_log(&log)
            );
        }
        if Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        said,
        "no certificate error in the daemon's log within 10 s:\n{}",
        read_log(&log)
    );
    // It keeps trying, and never gets on the broker.
    let seen = central.wait_state(Duration::from_secs(3), |_| true).await;
    assert!(
        seen.is_none(),
        "the station must not appear on the broker: {seen:?}"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the daemon is still running (retrying):\n{}",
        read_log(&log)
    );
    // The station logs a lasting error once; the broker sees it try again.
    let tls_attempts = mosquitto
        .log()
        .matches(&format!("on port {tls_port}"))
        .count();
    assert!(
        tls_attempts >= 2,
        "the station tried the TLS port {tls_attempts} times; broker log:\n{}",
        mosquitto.log()
    );
    assert_eq!(sim.printed_count(), 0);

    // SIGTERM: a clean stop, even though it never connected.
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let term = Instant::now();
    let deadline = term + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon did not stop within 10 s of SIGTERM:\n{}",
            read_log(&log)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    drop(kill_on_panic);
    assert!(status.success(), "exit {status}:\n{}", read_log(&log));
    let stopped_in = term.elapsed();
    // Nothing reached the broker, before or at the stop.
    assert!(central
        .wait_state(Duration::from_millis(500), |_| true)
        .await
        .is_none());
    eprintln!(
        "wrong CA: {:?} in all, {stopped_in:?} from SIGTERM to exit; the daemon said:\n{}\nthe broker:\n{}",
        started.elapsed(),
        read_log(&log),
        mosquitto.log()
    );
}
