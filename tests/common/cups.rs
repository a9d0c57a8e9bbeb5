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

/// A private `cupsd`: its own configuration, spool and logs under a
/// temporary directory, listening on a free port, with the filters the
/// queues here need linked in. As root it runs as `nobody` (cupsd refuses
/// to run as root), as anyone else as them.
pub struct Cups {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

impl Cups {
    pub fn start() -> Cups {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in [
            "state",
            "cache",
            "spool",
            "tmp",
            "log",
            "bin/filter",
            "bin/daemon",
            "bin/backend",
            "share",
            "out",
            "ppd",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for d in ["mime", "data", "templates", "model", "fonts", "charsets"] {
            let from = Path::new("/usr/share/cups").join(d);
            if from.exists() {
                std::os::unix::fs::symlink(&from, root.join("share").join(d)).unwrap();
            }
        }
        need("cupsd");
        for (from, to) in [
            (
                "/usr/lib/cups/filter/rastertogutenprint.5.3",
                "bin/filter/rastertogutenprint.5.3",
            ),
            ("/usr/lib/cups/daemon/cups-exec", "bin/daemon/cups-exec"),
        ] {
            assert!(
                Path::new(from).exists(),
                "{from} is missing: install printer-driver-gutenprint and cups-daemon (./test does)"
            );
            std::os::unix::fs::symlink(from, root.join(to)).unwrap();
        }
        let port = free_port();
        let id = |args: &[&str]| {
            let o = Command::new("id").args(args).output().unwrap();
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        };
        let as_root = id(&["-u"]) == "0";
        let (user, group) = if as_root {
            ("nobody".to_string(), id(&["-gn", "nobody"]))
        } else {
            (id(&["-un"]), id(&["-gn"]))
        };
        std::fs::write(
            root.join("cupsd.conf"),
            format!(
                "Listen 127.0.0.1:{port}\nBrowsing Off\nDefaultAuthType None\nWebInterface No\nLogLevel debug\n\
                 PreserveJobFiles Yes\nPreserveJobHistory Yes\n\
                 <Location />\nOrder allow,deny\nAllow all\n</Location>\n\
                 <Policy default>\n<Limit All>\nOrder deny,allow\nAllow all\n</Limit>\n</Policy>\n"
            ),
        )
        .unwrap();
        let r = root.display();
        std::fs::write(
            root.join("cups-files.conf"),
            format!(
                "User {user}\nGroup {group}\nSystemGroup {group}\nFileDevice Yes\nServerRoot {r}\n\
                 StateDir {r}/state\nCacheDir {r}/cache\nDataDir {r}/share\nServerBin {r}/bin\n\
                 RequestRoot {r}/spool\nTempDir {r}/tmp\nAccessLog {r}/log/access_log\n\
                 ErrorLog {r}/log/error_log\nPageLog {r}/log/page_log\nSandboxing Relaxed\n"
            ),
        )
        .unwrap();
        let mut cmd = if as_root {
            // Everything under the directory is the daemon's; the test,
            // as root, reads it all the same.
            let (uid, gid) = (id(&["-u", "nobody"]), id(&["-g", "nobody"]));
            let chown = Command::new("chown")
                .args(["-R", &format!("{uid}:{gid}")])
                .arg(root)
                .status()
                .unwrap();
            assert!(chown.success());
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={uid}"),
                &format!("--regid={gid}"),
                "--clear-groups",
            ])
            .arg(need("cupsd"));
            c
        } else {
            Command::new(need("cupsd"))
        };
        let log = root.join("cupsd.out");
        let child = cmd
            .arg("-f")
            .arg("-c")
            .arg(root.join("cupsd.conf"))
            .arg("-s")
            .arg(root.join("cups-files.conf"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("cupsd starts");
        wait_port(port, "cupsd", &log);
        Cups { dir, port, child }
    }

    /// Runs a CUPS client command (`lpadmin`, `cupsdisable`, ...) against
    /// this cupsd.
    pub fn run(&self, bin: &str, args: &[&str]) -> String {
        let out = Command::new(need(bin))
            .arg("-h")
            .arg(format!("127.0.0.1:{}", self.port))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{bin} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A queue with Gutenprint's Magicard Tango 2E driver writing to a file
    /// under `out/`; `policy` is its printer-error-policy.
    pub fn magicard_queue(&self, name: &str, policy: &str) -> PathBuf {
        let ppd = self.dir.path().join("ppd").join(format!("{name}.ppd"));
        let generated = Command::new("/usr/lib/cups/driver/gutenprint.5.3")
            .args(["cat", "gutenprint.5.3://magicard-tango-2e/expert"])
            .output()
            .expect("Gutenprint's driver lists its PPDs");
        assert!(generated.status.success());
        std::fs::write(&ppd, generated.stdout).unwrap();
        let out = self.dir.path().join("out").join(format!("{name}.bin"));
        self.run(
            "lpadmin",
            &[
                "-p",
                name,
                "-E",
                "-v",
                &format!("file://{}", out.display()),
                "-P",
                ppd.to_str().unwrap(),
                "-o",
                &format!("printer-error-policy={policy}"),
            ],
        );
        out
    }

    pub fn uri(&self, queue: &str) -> String {
        format!("ipp://127.0.0.1:{}/printers/{queue}", self.port)
    }

    /// The documents CUPS kept (PreserveJobFiles), oldest first.
    pub fn documents(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("spool"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('d'))
            })
            .collect();
        v.sort();
        v
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log/error_log")).unwrap_or_default()
    }
}

impl Drop for Cups {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
