pub mod batch;
pub mod blanks;
pub mod daemon;
pub mod demo;
pub mod holograms;
pub mod orders;
pub mod proof;
pub mod render;
pub mod report;
pub mod templates;
pub mod user;

use anyhow::Context;
use legitka::records::store::Store;
use legitka::settings::Settings;

/// The configuration and the station's database, as every operator command
/// opens them (the same file the running station writes).
pub async fn open_store(config: Option<&std::path::Path>) -> anyhow::Result<(Settings, Store)> {
    let s = Settings::load(config)?;
    let store = Store::open(&s.db_path(), &s.station)
        .await
        .with_context(|| format!("opening {}", s.db_path().display()))?;
    Ok((s, store))
}

/// Who an operator command records: where `--operator` is an account's
/// login, that account ("Anna Kowalska (anna)", as the web page records
/// it); otherwise the name as typed.
pub async fn operator(store: &Store, given: &str) -> anyhow::Result<String> {
    Ok(match store.user(given.trim()).await? {
        Some(u) if !u.disabled => format!("{} ({})", u.name, u.login),
        _ => given.to_string(),
    })
}

/// Records a done operator command in the audit log, under the login
/// `--operator` names (or the name as typed).
pub async fn audit(
    store: &Store,
    given: &str,
    action: &str,
    target: &str,
    detail: Option<&str>,
) -> anyhow::Result<()> {
    store
        .audit(given.trim(), "cli", action, Some(target), detail)
        .await?;
    Ok(())
}

/// Logs to stderr; `LEGITKA_LOG` sets the filter, `LEGITKA_LOG_JSON=1` makes
/// them structured JSON for journald collectors.
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("LEGITKA_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,rumqttd=warn,rumqttc=warn,sqlx=warn"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("LEGITKA_LOG_JSON").is_ok_and(|v| v == "1") {
        b.json().init();
    } else if std::env::var_os("JOURNAL_STREAM").is_some() {
        // The journal stamps each line itself and shows no colours.
        b.with_ansi(false).without_time().init();
    } else {
        b.init();
    }
}
