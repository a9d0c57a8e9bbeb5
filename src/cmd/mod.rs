pub mod backup;
pub mod batch;
pub mod blanks;
pub mod daemon;
pub mod demo;
pub mod holograms;
pub mod orders;
pub mod printers;
pub mod proof;
pub mod render;
pub mod report;
pub mod templates;
pub mod user;

use anyhow::Context;
use legitka::card::profile::Profiles;
use legitka::card::render::Renderer;
use legitka::records::actor::{Actor, Via};
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

/// Who an operator command acts as: where `--operator` is an account's
/// login, that account ("Anna Kowalska (anna)" in the forms, `anna` in the
/// audit log, as the web page records it); otherwise the name as typed.
pub async fn actor(store: &Store, given: &str) -> anyhow::Result<Actor> {
    let given = given.trim();
    anyhow::ensure!(!given.is_empty(), "--operator: say who you are");
    Ok(match store.user(given).await? {
        Some(u) if !u.disabled => Actor::account(&u, Via::Cli),
        _ => Actor::named(given, Via::Cli),
    })
}

/// What an operator is told of blanks an unload left with their cards
/// (in the printer, or held for checking): the card's number, not an id.
pub async fn reserved_lines(
    store: &Store,
    pattern: &str,
    reserved: &[(String, String)],
) -> anyhow::Result<Vec<String>> {
    let cards: std::collections::HashMap<String, String> = store
        .order_lines(&["printing", "held"])
        .await?
        .into_iter()
        .map(|o| (o.order_id, o.card_number))
        .collect();
    Ok(reserved
        .iter()
        .map(|(serial, order)| {
            format!(
                "blank {pattern} {serial} stays with card {} (in the printer or held for checking): settle that card; if it never took the blank, take it out too",
                cards.get(order).map_or(order.as_str(), String::as_str)
            )
        })
        .collect())
}

/// The card layouts this configuration prints: what a delivery of blanks
/// may be recorded under.
pub fn renderer(settings: &Settings) -> anyhow::Result<Renderer> {
    let profiles = match &settings.profiles_dir {
        Some(d) => Profiles::load_dir(d)?,
        None => Profiles::builtin(),
    };
    let printer = profiles.printer(&settings.printer.profile)?.clone();
    Ok(Renderer::new(profiles, printer))
}

/// Writes a file only its owner can read (0600, also when it existed with a
/// wider mode): reports, exports and proofs carry children's data.
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A picture as a private PNG file (see [`write_private`]).
pub fn save_png_private<P, C>(
    img: &image::ImageBuffer<P, C>,
    path: &std::path::Path,
) -> anyhow::Result<()>
where
    P: image::PixelWithColorType,
    [P::Subpixel]: image::EncodableLayout,
    C: std::ops::Deref<Target = [P::Subpixel]>,
{
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)?;
    write_private(path, &out.into_inner())
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
