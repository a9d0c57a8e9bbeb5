//! The station's configuration: a TOML file (see `config/legitka.toml`) with
//! `LEGITKA_` environment overrides, `__` between levels
//! (`LEGITKA_MQTT__URL`, `LEGITKA_PRINTER__URI`).
//!
//! It fails closed: a key the station does not know (a typo such as
//! `[central-keys]`, which would silently turn signature checks off) is
//! refused with the file and the key named.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Config(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// The school's RSPO number.
    pub school: String,
    /// This station's id, `[a-z0-9-]{1,32}`.
    pub station: String,
    pub data_dir: PathBuf,
    pub mqtt: MqttSettings,
    #[serde(default)]
    pub printer: PrinterSettings,
    /// The central system's Ed25519 public keys (key id -> base64). When any
    /// are set, unsigned orders are rejected.
    #[serde(default)]
    pub central_keys: BTreeMap<String, String>,
    /// Refuse unsigned orders even while no key is set (then every order is
    /// refused until one is): broker permissions alone then never get a
    /// card printed. The .deb's configuration sets it.
    #[serde(default)]
    pub require_signed: bool,
    /// A directory with `printers/` and `templates/`; the built-in set if unset.
    #[serde(default)]
    pub profiles_dir: Option<PathBuf>,
    #[serde(default)]
    pub blanks: BlanksSettings,
    #[serde(default)]
    pub queue: QueueSettings,
    #[serde(default)]
    pub http: HttpSettings,
    /// The school's lines as its cards print them, checked against every
    /// layout at start-up. Orders still carry their own.
    #[serde(default)]
    pub school_card: Option<SchoolCard>,
    #[serde(default)]
    pub backup: BackupSettings,
    #[serde(default)]
    pub retention: RetentionSettings,
}

/// How long children's data waits before it is deleted (README, "Security").
#[derive(Debug, Clone, Deserialize)]
pub struct RetentionSettings {
    /// An order not printed within this many days of its arrival is
    /// deleted (photo, PESEL, names) and answered `order.rejected`/`expired`.
    #[serde(default = "default_order_days")]
    pub order_days: u32,
    /// Audit lines, sent events and revocations older than this are deleted.
    #[serde(default = "default_audit_months")]
    pub audit_months: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            order_days: default_order_days(),
            audit_months: default_audit_months(),
        }
    }
}

fn default_order_days() -> u32 {
    60
}

fn default_audit_months() -> u32 {
    24
}

/// Copies of the register (`legitka backup`, the daily timer).
#[derive(Debug, Clone, Deserialize)]
pub struct BackupSettings {
    /// Where the daily backups go (another disk, a mounted share); unset:
    /// the timer makes none and the page says so.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// How many backups are kept there, the newest.
    #[serde(default = "default_keep")]
    pub keep: usize,
    /// An `age` public key (age1...): backups are encrypted to it, and only
    /// its secret key, kept away from the station, opens them.
    #[serde(default)]
    pub recipient: Option<String>,
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            dir: None,
            keep: default_keep(),
            recipient: None,
        }
    }
}

fn default_keep() -> usize {
    14
}

/// What every card of the school prints about the school. The central
/// system sends it in each order; written here too, a name or address that
/// cannot fit a layout stops the station at start instead of refusing every
/// order.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SchoolCard {
    pub name: Option<String>,
    pub address: Option<String>,
    pub headteacher: Option<String>,
}

impl Settings {
    /// The school's lines to check, if any is set: an empty `[school_card]`
    /// (as shipped, every key commented) is nothing to check, not a pass.
    pub fn school_card(&self) -> Option<&SchoolCard> {
        self.school_card
            .as_ref()
            .filter(|s| s.name.is_some() || s.address.is_some() || s.headteacher.is_some())
    }
}

/// The operator's web page and the JSON API.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    /// `host:port` to serve on; empty: no web page. The default serves this
    /// machine only; to serve the school's network, put it behind TLS.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Minutes without use after which a session ends.
    #[serde(default = "default_idle")]
    pub session_idle_minutes: u64,
    /// PEM certificate chain and key: serve HTTPS, cookies marked Secure.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Behind a reverse proxy that terminates TLS: cookies marked Secure
    /// and the proxy's X-Forwarded-For names the client for rate limits,
    /// believed only from loopback or `trusted_proxies`.
    #[serde(default)]
    pub behind_proxy: bool,
    /// The proxies' addresses when the proxy is on another machine.
    #[serde(default)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Host names the page answers to besides IP addresses, `localhost` and
    /// this machine's name (a DNS-rebinding page is refused by its name).
    #[serde(default)]
    pub host_names: Vec<String>,
    /// Hours after which a session ends however busy it is.
    #[serde(default = "default_session_max_hours")]
    pub session_max_hours: u64,
    /// Connections served at once; more wait in the kernel's queue.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (and finish TLS).
    #[serde(default = "default_header_timeout")]
    pub header_timeout_seconds: u64,
}

fn default_session_max_hours() -> u64 {
    12
}

fn default_max_connections() -> usize {
    256
}

fn default_header_timeout() -> u64 {
    10
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            listen: default_listen(),
            session_idle_minutes: default_idle(),
            tls_cert: None,
            tls_key: None,
            behind_proxy: false,
            trusted_proxies: Vec::new(),
            host_names: Vec::new(),
            session_max_hours: default_session_max_hours(),
            max_connections: default_max_connections(),
            header_timeout_seconds: default_header_timeout(),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

fn default_idle() -> u64 {
    30
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueueSettings {
    /// `auto`: every accepted order prints as it comes; `batch`: orders wait
    /// for an operator's `legitka batch start`.
    #[serde(default)]
    pub mode: crate::records::store::QueueMode,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BlanksSettings {
    /// `legitka blanks` warns when fewer blanks of a pattern are left.
    #[serde(default = "default_warn_below")]
    pub warn_below: i64,
}

impl Default for BlanksSettings {
    fn default() -> Self {
        BlanksSettings {
            warn_below: default_warn_below(),
        }
    }
}

fn default_warn_below() -> i64 {
    50
}

#[derive(Debug, Clone, Deserialize)]
pub struct MqttSettings {
    /// `mqtt://host:port` or `mqtts://host:port`.
    pub url: String,
    #[serde(default = "default_prefix")]
    pub prefix: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// For `mqtts://`: the CA that signed the broker's certificate.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    /// Share the school's orders with its other stations.
    #[serde(default)]
    pub shared: bool,
    /// A username and password over plain `mqtt://` cross the network in
    /// clear text: only with this set on purpose.
    #[serde(default)]
    pub allow_plaintext_credentials: bool,
}

fn default_prefix() -> String {
    "legitymacje/v1".into()
}

#[derive(Debug, Clone, Deserialize)]
pub struct PrinterSettings {
    /// `usb:auto`, `usb:VVVV:PPPP[:serial]`, `serial:/dev/ttyUSB0`,
    /// `tcp://host:9100`, or `sim` (the built-in simulator: demos and tests).
    /// Required: a station that does not name its printer must not take
    /// real orders and report them printed.
    #[serde(default)]
    pub uri: String,
    #[serde(default = "default_profile")]
    pub profile: String,
    /// Who is recorded as the operator of automatically printed cards.
    #[serde(default)]
    pub operator: Option<String>,
    /// For `sim`: seconds per card (0 = instant).
    #[serde(default)]
    pub sim_card_seconds: f32,
    /// For `sim`: where the simulator writes each card it prints as PNG
    /// (photo and PESEL included). Nowhere unless set.
    #[serde(default)]
    pub sim_out_dir: Option<PathBuf>,
    /// For `ipps://`: the printer's own certificate (PEM), or the authority
    /// that signed it. A printer's certificate is self-signed, so no system
    /// authority vouches for it; saved once (README), it is trusted here.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl Default for PrinterSettings {
    fn default() -> Self {
        PrinterSettings {
            uri: String::new(),
            profile: default_profile(),
            operator: None,
            sim_card_seconds: 0.0,
            sim_out_dir: None,
            ca_file: None,
        }
    }
}

fn default_profile() -> String {
    "evolis-primacy-2".into()
}

impl Settings {
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let mut b = config::Config::builder()
            .set_default("mqtt.prefix", default_prefix())?
            .set_default("printer.profile", default_profile())?;
        if let Some(f) = file {
            b = b.add_source(config::File::from(f).format(config::FileFormat::Toml));
        }
        let config = b.add_source(environment()?).build()?;
        let mut unknown = Vec::new();
        let s: Settings =
            serde_ignored::deserialize(config, |path| unknown.push(path.to_string()))?;
        if let Some(key) = unknown.first() {
            let place = match file {
                Some(f) if file_has_key(f, key) => f.display().to_string(),
                _ => format!(
                    "the environment (LEGITKA_{})",
                    key.replace('.', "__").to_ascii_uppercase()
                ),
            };
            return Err(SettingsError::Invalid(format!(
                "{place}: unknown key {key:?}; a misspelt key is refused rather than ignored (see config/legitka.toml for the keys)"
            )));
        }
        s.check()?;
        Ok(s)
    }

    pub fn check(&self) -> Result<(), SettingsError> {
        let bad = |m: String| Err(SettingsError::Invalid(m));
        if self.station.is_empty()
            || self.station.len() > 32
            || !self
                .station
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return bad(format!(
                "station {:?} must be 1-32 of a-z, 0-9 and '-'",
                self.station
            ));
        }
        if self.printer.uri.trim().is_empty() {
            return bad("printer.uri is required: name the printer (usb:auto, usb:0f49:0001, serial:/dev/ttyUSB0, tcp://192.0.2.10:9100), or sim to try the station without one".into());
        }
        let http = &self.http;
        if !http.listen.is_empty() {
            let addr: std::net::SocketAddr = http.listen.parse().map_err(|_| {
                SettingsError::Invalid(format!(
                    "http.listen {:?} must be host:port, e.g. 127.0.0.1:8080 (empty: no web page)",
                    http.listen
                ))
            })?;
            if http.tls_cert.is_some() != http.tls_key.is_some() {
                return bad("http.tls_cert and http.tls_key go together".into());
            }
            // A proxy in front of a station that listens on every address
            // leaves plain HTTP open to the network beside it, and anyone
            // could send the X-Forwarded-For the station would believe.
            if http.behind_proxy && addr.ip().is_unspecified() {
                return bad(format!(
                    "http.listen {} with behind_proxy serves plain HTTP to the whole network: listen on 127.0.0.1 (the proxy on this machine) or on the one address the proxy reaches, with http.trusted_proxies",
                    http.listen
                ));
            }
            if http.behind_proxy && !addr.ip().is_loopback() && http.trusted_proxies.is_empty() {
                return bad(format!(
                    "http.listen {} with behind_proxy: name the proxy's address in http.trusted_proxies (its X-Forwarded-For is believed from nowhere else)",
                    http.listen
                ));
            }
            if http.max_connections < 8
                || http.header_timeout_seconds == 0
                || http.session_max_hours == 0
            {
                return bad("http.max_connections is at least 8, http.header_timeout_seconds and http.session_max_hours at least 1".into());
            }
            // Passwords and children's data must not cross the school's
            // network in clear text.
            if !addr.ip().is_loopback() && http.tls_cert.is_none() && !http.behind_proxy {
                return bad(format!(
                    "http.listen {} is open to the network: set http.tls_cert and http.tls_key, or serve on 127.0.0.1 behind a TLS reverse proxy (http.behind_proxy = true)",
                    http.listen
                ));
            }
        }
        if self.retention.order_days == 0 || self.retention.audit_months == 0 {
            return bad("retention.order_days and retention.audit_months are at least 1".into());
        }
        if self.backup.keep == 0 {
            return bad("backup.keep must be at least 1: how many backups are kept".into());
        }
        if let Some(r) = &self.backup.recipient {
            if let Err(e) = crate::records::backup::recipient(r) {
                return bad(format!("backup.recipient: {e}"));
            }
        }
        if self.school.is_empty() || !self.school.bytes().all(|b| b.is_ascii_digit()) {
            return bad(format!(
                "school {:?} must be the school's RSPO number (digits)",
                self.school
            ));
        }
        Ok(())
    }

    /// A station on a plain local broker with built-in profiles: the demo's
    /// and the tests' starting point.
    pub fn local(
        station: &str,
        data_dir: &Path,
        mqtt_url: &str,
        prefix: &str,
        printer_uri: &str,
    ) -> Self {
        Settings {
            school: crate::card::sample::SCHOOL_RSPO.into(),
            station: station.into(),
            data_dir: data_dir.to_path_buf(),
            mqtt: MqttSettings {
                url: mqtt_url.into(),
                prefix: prefix.into(),
                username: None,
                password: None,
                ca_file: None,
                client_cert: None,
                client_key: None,
                shared: false,
                allow_plaintext_credentials: false,
            },
            printer: PrinterSettings {
                uri: printer_uri.into(),
                ..PrinterSettings::default()
            },
            central_keys: BTreeMap::new(),
            require_signed: false,
            profiles_dir: None,
            blanks: BlanksSettings::default(),
            queue: QueueSettings::default(),
            // Tests and the demo run many stations at once: no fixed port.
            http: HttpSettings {
                listen: String::new(),
                ..HttpSettings::default()
            },
            school_card: None,
            backup: BackupSettings::default(),
            retention: RetentionSettings::default(),
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("legitka.db")
    }
}

/// The top-level keys; a `LEGITKA_` variable is a setting only if it names
/// one of them (`LEGITKA_LOG` and the tests' variables are not settings).
const TOP_LEVEL: &[&str] = &[
    "school",
    "station",
    "data_dir",
    "mqtt",
    "printer",
    "central_keys",
    "require_signed",
    "retention",
    "profiles_dir",
    "blanks",
    "queue",
    "http",
    "school_card",
    "backup",
];

/// `LEGITKA_` variables that are not settings: logging, and (by prefix) the
/// tests' and benchmarks' own.
const NOT_SETTINGS: &[&str] = &["LOG", "LOG_JSON"];
const NOT_SETTINGS_PREFIXES: &[&str] = &["TEST_", "HW_", "BURST"];

fn environment() -> Result<config::Environment, SettingsError> {
    let mut vars = std::collections::HashMap::new();
    for (k, v) in std::env::vars() {
        let Some(rest) = k.strip_prefix("LEGITKA_") else {
            continue;
        };
        let top = rest.split("__").next().unwrap_or_default();
        if TOP_LEVEL.iter().any(|t| t.eq_ignore_ascii_case(top)) {
            vars.insert(k, v);
        } else if !NOT_SETTINGS.contains(&rest)
            && !NOT_SETTINGS_PREFIXES.iter().any(|p| rest.starts_with(p))
        {
            // A misspelt variable (LEGITKA_MQTT_URL, one underscore) would
            // otherwise be ignored without a word.
            return Err(SettingsError::Invalid(format!(
                "the environment: {k} is not a setting (levels are separated by __, e.g. LEGITKA_MQTT__URL)"
            )));
        }
    }
    Ok(config::Environment::with_prefix("LEGITKA")
        .prefix_separator("_")
        .separator("__")
        .source(Some(vars)))
}

/// Whether a dotted key path is written in the TOML file.
fn file_has_key(file: &Path, key: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(file) else {
        return false;
    };
    let Ok(mut v) = text.parse::<toml::Table>().map(toml::Value::Table) else {
        return false;
    };
    for part in key.split('.') {
        match v.get(part) {
            Some(next) => v = next.clone(),
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_config_loads_and_the_environment_overrides_it() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/legitka.toml");
        let s = Settings::load(Some(&file)).unwrap();
        assert_eq!(s.printer.uri, "usb:auto");
        assert_eq!(s.mqtt.prefix, "legitymacje/v1");
        // The only test in this crate that sets LEGITKA_ variables.
        std::env::set_var("LEGITKA_MQTT__URL", "mqtts://broker.example:8883");
        std::env::set_var("LEGITKA_PRINTER__URI", "usb:0f49:0001");
        let s = Settings::load(Some(&file));
        std::env::remove_var("LEGITKA_MQTT__URL");
        std::env::remove_var("LEGITKA_PRINTER__URI");
        let s = s.unwrap();
        assert_eq!(s.mqtt.url, "mqtts://broker.example:8883");
        assert_eq!(s.printer.uri, "usb:0f49:0001");
    }

    #[test]
    fn the_shipped_config_requires_signed_orders_and_bounds_retention() {
        let s = Settings::load(Some(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("config/legitka.toml"),
        ))
        .unwrap();
        assert!(
            s.require_signed,
            "the .deb's configuration takes signed orders only"
        );
        assert_eq!((s.retention.order_days, s.retention.audit_months), (60, 24));
        assert_eq!(s.http.session_max_hours, 12);
    }

    #[test]
    fn a_proxy_in_front_of_every_address_or_an_unnamed_one_is_refused() {
        let mut s = Settings::load(Some(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("config/legitka.toml"),
        ))
        .unwrap();
        s.http.behind_proxy = true;
        s.http.listen = "0.0.0.0:8080".into();
        let e = s.check().unwrap_err().to_string();
        assert!(e.contains("plain HTTP to the whole network"), "{e}");
        s.http.trusted_proxies = vec!["192.0.2.5".parse().unwrap()];
        assert!(
            s.check().is_err(),
            "every address stays refused with a named proxy"
        );
        s.http.listen = "192.0.2.10:8080".into();
        assert!(s.check().is_ok(), "one address, the proxy named");
        s.http.trusted_proxies.clear();
        let e = s.check().unwrap_err().to_string();
        assert!(e.contains("trusted_proxies"), "{e}");
        s.http.listen = "127.0.0.1:8080".into();
        assert!(s.check().is_ok(), "a proxy on this machine needs no name");
    }

    #[test]
    fn a_bad_station_id_is_refused() {
        let mut s = Settings::load(Some(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("config/legitka.toml"),
        ))
        .unwrap();
        s.station = "Sekretariat 1".into();
        assert!(s.check().is_err());
    }

    fn load_text(text: &str) -> Result<Settings, SettingsError> {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("station.toml");
        std::fs::write(&f, text).unwrap();
        Settings::load(Some(&f)).map_err(|e| {
            // The file's name is in the message, not the temp dir's.
            SettingsError::Invalid(
                e.to_string()
                    .replace(&dir.path().display().to_string(), "DIR"),
            )
        })
    }

    const MINIMAL: &str = "school = \"12345\"\nstation = \"s1\"\ndata_dir = \"/tmp/x\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\n[printer]\nuri = \"usb:auto\"\n";

    #[test]
    fn the_web_page_opens_to_the_network_only_encrypted() {
        assert!(load_text(MINIMAL).is_ok_and(|s| s.http.listen == "127.0.0.1:8080"));
        let open = format!("{MINIMAL}[http]\nlisten = \"0.0.0.0:8080\"\n");
        let e = load_text(&open).unwrap_err().to_string();
        assert!(e.contains("tls_cert") && e.contains("behind_proxy"), "{e}");
        // A proxy does not make every address safe: plain HTTP would still
        // be served to the network beside it (issue 17).
        assert!(load_text(&format!("{open}behind_proxy = true\n")).is_err());
        assert!(load_text(&format!(
            "{open}tls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"\n"
        ))
        .is_ok());
        assert!(
            load_text(&format!("{open}tls_cert = \"/c.pem\"\n")).is_err(),
            "a certificate without its key"
        );
        assert!(
            load_text(&format!("{MINIMAL}[http]\nlisten = \"\"\n")).is_ok(),
            "no page at all"
        );
        assert!(load_text(&format!("{MINIMAL}[http]\nlisten = \"localhost\"\n")).is_err());
        assert!(load_text(&format!("{MINIMAL}[queue]\nmode = \"batch\"\n")).is_ok());
    }

    #[test]
    fn a_misspelt_key_is_refused_with_the_file_and_the_key_named() {
        assert!(load_text(MINIMAL).is_ok());
        let e = load_text(&format!(
            "{MINIMAL}[central-keys]\ncentral-2025 = \"AAAA\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("DIR/station.toml") && e.contains("central-keys"),
            "{e}"
        );
        let e = load_text(&MINIMAL.replace("url =", "ur1 = \"x\"\nurl ="))
            .unwrap_err()
            .to_string();
        assert!(e.contains("mqtt.ur1"), "{e}");
    }

    #[test]
    fn an_empty_school_card_is_nothing_to_check() {
        let empty = load_text(&format!("{MINIMAL}\n[school_card]\n")).unwrap();
        assert!(empty.school_card.is_some() && empty.school_card().is_none());
        let named = load_text(&format!("{MINIMAL}\n[school_card]\nname = \"SP 7\"\n")).unwrap();
        assert_eq!(
            named.school_card().and_then(|s| s.name.as_deref()),
            Some("SP 7")
        );
    }

    #[test]
    fn a_station_must_name_its_printer() {
        let e = load_text(&MINIMAL.replace("uri = \"usb:auto\"", ""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("printer.uri is required"), "{e}");
        let sim = load_text(&MINIMAL.replace("usb:auto", "sim")).unwrap();
        assert_eq!(sim.printer.sim_out_dir, None, "no card images unless asked");
    }
}
