//! The CUPS project's own printers for the IPP path, started as an ordinary
//! user with nothing of the machine's (no system CUPS, no DNS-SD): the
//! reference IPP Everywhere printer `ippeveprinter`, and a private `cupsd`
//! with queues in front of real drivers. Facts behind each step are in
//! ../shared/notes/ipp.md. `./test` installs the Debian packages.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn need(bin: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"] {
        let p = Path::new(dir).join(bin);
        if p.exists() {
            return p;
        }
    }
    panic!(
        "{bin} is not installed: the IPP tests need cups-daemon cups-client cups-ipp-utils dbus-daemon printer-driver-gutenprint (./test installs them)"
    );
}

fn free_port() -> u16 {
    super::web::free_port()
}

fn wait_port(port: u16, what: &str, log: &Path) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{what} did not listen on {port}: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// A private D-Bus: ippeveprinter (CUPS 2.4) will not start without one,
/// even with DNS-SD off.
struct Bus(Child);

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bus(dir: &Path) -> (Bus, String) {
    let sock = dir.join("bus");
    let address = format!("unix:path={}", sock.display());
    let child = Command::new(need("dbus-daemon"))
        .args(["--session", "--nofork", "--nopidfile"])
        .arg(format!("--address={address}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon starts");
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (Bus(child), address)
}

/// `ippeveprinter -k`: keeps every document it is sent in `spool`; with a
/// `script`, runs it for each job (its stderr `STATE: +media-jam` raises a
/// reason; a non-zero exit aborts the job).
pub struct Ippeve {
    pub dir: tempfile::TempDir,
    pub uri: String,
    pub spool: PathBuf,
    child: Child,
    _bus: Bus,
}

impl Ippeve {
    pub fn start(script: Option<&str>) -> Ippeve {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        std::fs::create_dir(&spool).unwrap();
        let (bus, address) = bus(dir.path());
        let port = free_port();
        let log = dir.path().join("ippeveprinter.log");
        let mut cmd = Command::new(need("ippeveprinter"));
        cmd.args(["-p", &port.to_string(), "-r", "off", "-k", "-d"])
            .arg(&spool)
            .args([
                "-f",
                "image/pwg-raster,image/png",
                "-M",
                "legitka",
                "-m",
                "Card Test",
            ]);
        if let Some(body) = script {
            let path = dir.path().join("job.sh");
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            cmd.arg("-c").arg(&path);
        }
        let child = cmd
            .arg("card")
            .env("DBUS_SYSTEM_BUS_ADDRESS", &address)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("ippeveprinter starts");
        wait_port(port, "ippeveprinter", &log);
        Ippeve {
            uri: format!("ipp://127.0.0.1:{port}/ipp/print"),
            spool,
            dir,
            child,
            _bus: bus,
        }
    }

    /// The documents it kept, oldest first.
    pub fn documents(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.spool)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pwg" || e == "ras"))
            .collect();
        v.sort_by_key(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split('-').next())
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(0)
        });
        v
    }
}

impl Drop for Ippeve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
