//! The station's configuration: a TOML file (see `config/legitka.toml`) with
//! `LEGITKA_` environment overrides, `__` between levels
//! (`LEGITKA_MQTT__URL`, `LEGITKA_PRINTER__URI`).

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
    pub printer: PrinterSettings,
    /// The central system's Ed25519 public keys (key id -> base64). When any
    /// are set, unsigned orders are rejected.
    #[serde(default)]
    pub central_keys: BTreeMap<String, String>,
    /// A directory with `printers/` and `patterns/`; the built-in set if unset.
    #[serde(default)]
    pub profiles_dir: Option<PathBuf>,
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
}

fn default_prefix() -> String {
    "legitymacje/v1".into()
}

#[derive(Debug, Clone, Deserialize)]
pub struct PrinterSettings {
    /// `sim`, `serial:/dev/ttyUSB0`, `tcp://host:9100`, `usb:VVVV:PPPP[:serial]`.
    pub uri: String,
    #[serde(default = "default_profile")]
    pub profile: String,
    /// Who is recorded as the operator of automatically printed cards.
    #[serde(default)]
    pub operator: Option<String>,
    /// For `sim`: seconds per card (0 = instant).
    #[serde(default)]
    pub sim_card_seconds: f32,
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
        let s: Settings = b
            .add_source(
                config::Environment::with_prefix("LEGITKA")
                    .prefix_separator("_")
                    .separator("__"),
            )
            .build()?
            .try_deserialize()?;
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
            school: crate::sample::SCHOOL_RSPO.into(),
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
            },
            printer: PrinterSettings {
                uri: printer_uri.into(),
                profile: default_profile(),
                operator: None,
                sim_card_seconds: 0.0,
            },
            central_keys: BTreeMap::new(),
            profiles_dir: None,
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("legitka.db")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_config_loads_and_the_environment_overrides_it() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/legitka.toml");
        let s = Settings::load(Some(&file)).unwrap();
        assert_eq!(s.printer.uri, "sim");
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
    fn a_bad_station_id_is_refused() {
        let mut s = Settings::load(Some(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("config/legitka.toml"),
        ))
        .unwrap();
        s.station = "Sekretariat 1".into();
        assert!(s.check().is_err());
    }
}
