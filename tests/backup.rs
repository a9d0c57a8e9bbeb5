//! The register survives the workstation: `legitka backup` makes a checked
//! copy while the station prints, encrypted to the school's key when one is
//! set, the newest `keep` kept; `legitka restore` puts one in place on a new
//! workstation (never under a running station) and the batch prints on;
//! `legitka db check` names what does not add up.

mod common;

use common::cli::{legitka, ok, refused};
use common::daemon;
use legitka::records::store::{check_file, Offer, Store};
use legitka_sim::{SimConfig, Stack};
use std::path::{Path, PathBuf};
use std::time::Duration;

const PATTERN: &str = "MEiN-I/1";
const ANNA: &str = "Anna Kowalska";

/// The file a `legitka backup` made, from its first line.
fn made(out: &str) -> PathBuf {
    let line = out.lines().next().expect("backup says what it made");
    PathBuf::from(line.split(": ").next().unwrap())
}

/// A configuration with extra TOML appended.
fn config_with(dir: &Path, data_dir: &Path, extra: &str) -> PathBuf {
    let mut s = common::settings(data_dir, "/dev/null");
    s.printer.uri = "sim".into();
    s.station = "s1".into();
    let config = dir.join(format!("legitka-{}.toml", uuid::Uuid::new_v4().simple()));
    common::write_config(&s, &config);
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(extra);
    std::fs::write(&config, toml).unwrap();
    config
}

#[tokio::test]
async fn an_encrypted_backup_holds_no_readable_child_data_and_opens_only_with_the_school_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("station");
    let key = age::x25519::Identity::generate();
    let key_file = dir.path().join("school.key");
    std::fs::write(
        &key_file,
        format!(
            "{}\n",
            age::secrecy::ExposeSecret::expose_secret(&key.to_string())
        ),
    )
    .unwrap();
    let backups = dir.path().join("backups");
    let config = config_with(
        dir.path(),
        &data,
        &format!(
            "[backup]\ndir = \"{}\"\nkeep = 2\nrecipient = \"{}\"\n",
            backups.display(),
            key.to_public()
        ),
    );
    // A printed card, and one waiting with its photo and PESEL.
    let store = Store::open(&data.join("legitka.db"), "s1").await.unwrap();
    let printed = common::records::valid(0);
    let waiting = common::records::valid(1);
    store.offer(&printed).await.unwrap();
    common::records::print(&store, &printed).await;
    store.offer(&waiting).await.unwrap();
    let pesel = waiting.data.identity_text();
    drop(store);

    let mut files = Vec::new();
    for _ in 0..3 {
        let out = ok(&config, &["backup"]);
        assert!(out.contains("checked, encrypted"), "{out}");
        files.push(made(&out));
    }
    // The newest two are kept; the oldest is gone.
    let kept = legitka::records::backup::list(&backups, "s1").unwrap();
    let kept_names: Vec<_> = kept.iter().map(|p| p.file_name().unwrap()).collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(!files[0].exists(), "the oldest removed");
    assert_eq!(
        kept_names,
        vec![files[1].file_name().unwrap(), files[2].file_name().unwrap()]
    );
    let newest = files[2].clone();
    let bytes = std::fs::read(&newest).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1"));
    assert!(
        !bytes.windows(pesel.len()).any(|w| w == pesel.as_bytes()),
        "the PESEL of the waiting card is not readable in the backup"
    );
    assert!(
        !bytes.windows(6).any(|w| w == b"SQLite"),
        "no SQLite header"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&newest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the backup is its owner's only");
    }
    // No plaintext copy is left beside the database.
    let leftovers: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".backup"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A new workstation: without the key, and with another key, refused.
    let new_data = dir.path().join("new-station");
    let new_config = config_with(dir.path(), &new_data, "");
    let f = newest.to_str().unwrap();
    refused(
        &new_config,
        &["restore", f, "--operator", ANNA],
        "--identity",
    );
    let other = dir.path().join("other.key");
    std::fs::write(
        &other,
        age::secrecy::ExposeSecret::expose_secret(&age::x25519::Identity::generate().to_string()),
    )
    .unwrap();
    refused(
        &new_config,
        &[
            "restore",
            f,
            "--identity",
            other.to_str().unwrap(),
            "--operator",
            ANNA,
        ],
        "cannot be opened",
    );
    assert!(!new_data.join("legitka.db").exists(), "nothing restored");
    let out = ok(
        &new_config,
        &[
            "restore",
            f,
            "--identity",
            key_file.to_str().unwrap(),
            "--operator",
            ANNA,
        ],
    );
    assert!(
        out.contains(&format!("last card: {}", printed.data.card_number)),
        "{out}"
    );
    assert!(out.contains("waiting: 1"), "{out}");
    let restored = Store::open(&new_data.join("legitka.db"), "s1")
        .await
        .unwrap();
    let (_, photo) = restored
        .order_card(&waiting.data.order_id)
        .await
        .unwrap()
        .expect("the waiting order is restored");
    assert!(photo.is_some(), "with its photo, to print");
    // The central system sends both again: each is known.
    assert_eq!(restored.offer(&printed).await.unwrap(), Offer::Redelivery);
    assert_eq!(restored.offer(&waiting).await.unwrap(), Offer::Redelivery);
    assert_eq!(restored.register().await.unwrap().len(), 1);
    assert!(restored.check().await.unwrap().is_empty());
    let audit = restored.audit_entries(None, 10).await.unwrap();
    assert!(
        audit.iter().any(|a| a.action == "db.restore"),
        "the restore is in the audit log"
    );
}

#[tokio::test]
async fn a_failed_backup_is_recorded_for_the_page_and_the_state_and_an_unencrypted_one_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("station");
    // The backup directory cannot be made: a file is in the way.
    let blocked = dir.path().join("not-a-dir");
    std::fs::write(&blocked, "x").unwrap();
    let config = config_with(
        dir.path(),
        &data,
        &format!("[backup]\ndir = \"{}\"\n", blocked.join("sub").display()),
    );
    // A station that has run: its database exists.
    let store = Store::open(&data.join("legitka.db"), "s1").await.unwrap();
    let (success, _, err) = legitka(&config, &["backup"]);
    assert!(!success, "a failed backup exits non-zero");
    assert!(err.contains("backup failed"), "{err}");
    let last = store.last_backup().await.unwrap().expect("recorded");
    assert!(!last.ok);
    assert!(last.message.contains("not-a-dir"), "{}", last.message);
    let counts = store.counts().await.unwrap();
    let state = legitka::runtime::state::StateReport {
        station: "s1".into(),
        printer: None,
        printing_now: false,
        queue: counts,
    };
    let state: serde_json::Value = serde_json::from_slice(&state.to_json()).unwrap();
    assert_eq!(state["backup"]["ok"], false, "{state}");

    // Into a directory that works, unencrypted: it says so, and it is
    // recorded as done.
    let out = ok(
        &config,
        &["backup", "--to", dir.path().join("ok").to_str().unwrap()],
    );
    assert!(out.contains("NOT encrypted"), "{out}");
    let file = made(&out);
    assert!(check_file(&file).await.unwrap().is_empty());
    let last = store.last_backup().await.unwrap().unwrap();
    assert!(last.ok);
    assert_eq!(last.file.as_deref(), file.to_str());
    assert_eq!(
        store.counts().await.unwrap().backup,
        Some(last),
        "the state report reads the same"
    );
    // The timer's way with no directory configured: nothing, and no failure.
    let off = config_with(dir.path(), &dir.path().join("off"), "");
    let out = ok(&off, &["backup", "--if-configured"]);
    assert!(out.contains("backups are off"), "{out}");
    refused(&off, &["backup"], "--to DIR");
    // A mistyped data_dir: no empty register is made and called checked.
    let to = dir.path().join("x").to_str().unwrap().to_string();
    refused(&off, &["backup", "--to", &to], "no database at");
    refused(&off, &["db", "check"], "no database at");
    assert!(!dir.path().join("off").join("legitka.db").exists());
}

#[tokio::test]
async fn db_check_names_what_does_not_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("station");
    let config = config_with(dir.path(), &data, "");
    common::cli::receive_blanks(&config, "000101", 10, ANNA);
    let out = ok(
        &config,
        &[
            "blanks",
            "load",
            "--first",
            "000101",
            "--count",
            "3",
            "--operator",
            ANNA,
        ],
    );
    assert!(out.contains("000101"), "{out}");
    let store = Store::open(&data.join("legitka.db"), "s1").await.unwrap();
    let o = common::records::valid(0);
    store.offer(&o).await.unwrap();
    common::records::print(&store, &o).await;
    assert_eq!(common::records::serials(&store).await, ["000101"]);
    let out = ok(&config, &["db", "check"]);
    assert!(out.contains("adds up"), "{out}");
    assert!(out.contains("last card: 1/2026"), "{out}");
    drop(store);

    // Someone edits the file: the blank the card is on back in stock, a
    // serial of the delivery gone.
    let pool =
        sqlx::SqlitePool::connect(&format!("sqlite://{}", data.join("legitka.db").display()))
            .await
            .unwrap();
    sqlx::query("UPDATE blanks SET status = 'stock', order_id = NULL WHERE serial = '000101'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM blanks WHERE serial = '000110'")
        .execute(&pool)
        .await
        .unwrap();
    // And leaves code behind that would run on every card recorded.
    sqlx::query(
        "CREATE TRIGGER quiet AFTER INSERT ON cards BEGIN UPDATE cards SET blank_serial = NULL WHERE id = NEW.id; END",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let (success, out, err) = legitka(&config, &["db", "check"]);
    assert!(!success, "non-zero: {out}");
    assert!(
        out.contains("card on a blank: card 1/2026 is registered on blank MEiN-I/1 000101, which the blanks record as stock"),
        "{out}"
    );
    assert!(
        out.contains("blank delivery: delivery 1 (MEiN-I/1 from 000101) says 10 blanks, the register holds 9"),
        "{out}"
    );
    assert!(
        out.contains("foreign schema: a trigger named quiet is not the station's"),
        "{out}"
    );
    assert!(err.contains("3 problem(s)"), "{err}");
    // A backup of a register that does not add up is refused, and recorded.
    let (success, _, err) = legitka(
        &config,
        &["backup", "--to", dir.path().join("b").to_str().unwrap()],
    );
    assert!(!success);
    assert!(err.contains("failed its check"), "{err}");
    assert!(
        legitka::records::backup::list(&dir.path().join("b"), "s1")
            .unwrap()
            .is_empty(),
        "nothing kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_mid_batch_is_restored_on_a_new_workstation_and_the_batch_prints_on() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("sim-out");
    // The feeder holds the first four of the batch's eight blanks: the
    // printer runs out halfway, and the batch waits.
    let (sim, pty) = common::simulator_with(SimConfig {
        card_time: Duration::from_millis(600),
        feeder_cards: 0,
        blanks: vec![Stack::new(PATTERN, "000101", 4).unwrap()],
        out_dir: Some(out_dir.clone()),
        ..SimConfig::default()
    });
    let settings = common::settings(&dir.path().join("old"), &pty);
    let config = dir.path().join("old.toml");
    common::write_config(&settings, &config);
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str("[queue]\nmode = \"batch\"\n");
    std::fs::write(&config, &toml).unwrap();
    let mut central = common::central(&settings).await;
    let mut first = daemon(&config, &dir.path().join("first.log"));
    central
        .wait_state(Duration::from_secs(60), |s| s["online"] == true)
        .await
        .expect("online");
    let orders: Vec<_> = (0..8).map(legitka::card::sample::order).collect();
    let ids = common::send_accepted(&mut central, &orders).await;
    common::cli::receive_blanks(&config, "000101", 8, ANNA);
    let batch = ok(
        &config,
        &[
            "batch",
            "start",
            "--first-blank",
            "000101",
            "--operator",
            ANNA,
        ],
    )
    .trim()
    .to_string();

    // A backup while a card is in the printer: a consistent register.
    assert!(sim.wait_until(Duration::from_secs(60), |p| p.is_printing()));
    let out = ok(
        &config,
        &["backup", "--to", dir.path().join("b1").to_str().unwrap()],
    );
    assert!(check_file(&made(&out)).await.unwrap().is_empty());

    // The feeder runs out after the fourth card: the batch waits, and the
    // nightly backup is taken then.
    assert!(
        sim.wait_until(Duration::from_secs(60), |p| p.printed().len() == 4
            && !p.is_printing())
    );
    central
        .wait_state(Duration::from_secs(60), |s| {
            s["printer"]["detail"] == "feeder_empty"
        })
        .await
        .expect("the station sees the empty feeder");
    let out = ok(
        &config,
        &["backup", "--to", dir.path().join("b2").to_str().unwrap()],
    );
    let backup = made(&out);
    let b = backup.to_str().unwrap();
    // Never under a running station.
    refused(
        &config,
        &["restore", b, "--operator", ANNA],
        "stop it first",
    );

    // The workstation dies.
    first.kill().unwrap();
    first.wait().unwrap();

    // A new workstation, the same printer: the register restored.
    let mut new_settings = settings.clone();
    new_settings.data_dir = dir.path().join("new");
    let new_config = dir.path().join("new.toml");
    common::write_config(&new_settings, &new_config);
    let mut toml = std::fs::read_to_string(&new_config).unwrap();
    toml.push_str("[queue]\nmode = \"batch\"\n");
    std::fs::write(&new_config, toml).unwrap();
    let out = ok(&new_config, &["restore", b, "--operator", ANNA]);
    assert!(out.contains("last card: 4/2026"), "{out}");
    assert!(out.contains("last used 000104"), "{out}");
    assert!(out.contains("in the printer 000105 – 000108 (4)"), "{out}");
    assert!(out.contains(&format!("batch {batch} is paused")), "{out}");

    // The technician puts the rest of the stack in; the station starts and
    // waits for the operator, who compared the feeder and resumes.
    sim.with(|p| p.load_blanks(&Stack::new(PATTERN, "000105", 4).unwrap()));
    assert!(
        out.contains("blanks MEiN-I/1 000105 – 000108 are taken out of the register's feeder"),
        "{out}"
    );
    let mut second = daemon(&new_config, &dir.path().join("second.log"));
    central
        .wait_state(Duration::from_secs(60), |s| {
            s["online"] == true && s["printer"]["feeder"] == "ok"
        })
        .await
        .expect("online again");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sim.printed_count(),
        4,
        "a restored batch waits for the operator"
    );
    ok(
        &new_config,
        &[
            "blanks",
            "load",
            "--first",
            "000105",
            "--count",
            "4",
            "--operator",
            ANNA,
        ],
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        sim.printed_count(),
        4,
        "loading blanks does not resume a restored batch by itself"
    );
    ok(
        &new_config,
        &["batch", "resume", &batch, "--operator", ANNA],
    );
    assert!(
        sim.wait_until(Duration::from_secs(90), |p| p.printed().len() == 8
            && !p.is_printing()),
        "the batch prints on"
    );
    // The central system sends every order again: each is a redelivery.
    let extra = legitka::card::sample::order(8);
    for o in orders.iter().chain(std::iter::once(&extra)) {
        central.send_order(o).await;
    }
    let extra_id = extra["order_id"].as_str().unwrap().to_string();
    assert!(
        central
            .wait_events(Duration::from_secs(60), |ev| ev
                .iter()
                .any(
                    |e| e["order_id"] == extra_id.as_str() && e["type"] == "order.accepted"
                ))
            .await
    );
    for id in &ids {
        assert_eq!(
            central.events_for(id, "order.accepted").count(),
            1,
            "{id} is not accepted twice"
        );
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(second.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(second.wait().unwrap().success());
    assert_eq!(sim.printed_count(), 8, "no card printed twice");

    // The register follows the feeder's own account, blank by blank.
    let feeder: Vec<serde_json::Value> = std::fs::read_to_string(out_dir.join("feeder.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let physical: Vec<String> = feeder
        .iter()
        .filter(|l| l["outcome"] == "printed")
        .map(|l| l["serial"].as_str().unwrap().to_string())
        .collect();
    let store = Store::open(&new_settings.db_path(), &new_settings.station)
        .await
        .unwrap();
    assert_eq!(common::records::serials(&store).await, physical);
    assert_eq!(
        physical,
        ["000101", "000102", "000103", "000104", "000105", "000106", "000107", "000108"]
    );
    assert!(store.check().await.unwrap().is_empty());
}

/// A copy of `backup` changed as `sql` says, as someone with the backup
/// directory could (an unencrypted one, or one made with the public key).
async fn crafted(backup: &Path, to: &Path, sql: &'static str) -> PathBuf {
    std::fs::copy(backup, to).unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", to.display()))
        .await
        .unwrap();
    sqlx::raw_sql(sql).execute(&pool).await.unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    to.to_path_buf()
}

#[tokio::test]
async fn restore_refuses_a_crafted_or_newer_copy_and_keeps_the_database_it_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("station");
    let config = config_with(dir.path(), &data, "");
    let store = Store::open(&data.join("legitka.db"), "s1").await.unwrap();
    let first = common::records::valid(0);
    store.offer(&first).await.unwrap();
    common::records::print(&store, &first).await;
    let out = ok(
        &config,
        &["backup", "--to", dir.path().join("b").to_str().unwrap()],
    );
    let good = made(&out);
    // The station prints on after the backup.
    let second = common::records::valid(1);
    store.offer(&second).await.unwrap();
    common::records::print(&store, &second).await;
    store.close().await;

    let refusals = [
        (
            "CREATE TRIGGER quiet AFTER INSERT ON cards BEGIN UPDATE cards SET blank_serial = NULL WHERE id = NEW.id; END;",
            "foreign schema: a trigger named quiet is not the station's",
        ),
        (
            "DROP INDEX cards_blank;",
            "schema: the station's index cards_blank is missing",
        ),
        (
            "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time)
             VALUES (9999, 'future', '2030-01-01', 1, x'00', 0);",
            "made by a newer legitka",
        ),
    ];
    for (i, (sql, why)) in refusals.iter().enumerate() {
        let f = crafted(&good, &dir.path().join(format!("crafted-{i}.db")), sql).await;
        refused(
            &config,
            &["restore", f.to_str().unwrap(), "--operator", ANNA],
            why,
        );
    }
    // Nothing was replaced by a refused copy: both cards are there.
    let store = Store::open(&data.join("legitka.db"), "s1").await.unwrap();
    assert_eq!(store.register().await.unwrap().len(), 2);
    store.close().await;
    let leftovers: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.contains("replaced"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The good one, over the database that went on: that one is kept.
    let out = ok(
        &config,
        &["restore", good.to_str().unwrap(), "--operator", ANNA],
    );
    assert!(out.contains("is kept as"), "{out}");
    assert!(out.contains("accounts that may log in"), "{out}");
    let kept: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("legitka.db.replaced-"))
        .collect();
    assert!(!kept.is_empty(), "the replaced database is kept");
    let replaced = kept
        .iter()
        .find(|p| !p.to_string_lossy().ends_with("-wal") && !p.to_string_lossy().ends_with("-shm"))
        .unwrap();
    let old = Store::open(replaced, "s1").await.unwrap();
    assert_eq!(
        old.register().await.unwrap().len(),
        2,
        "with the card printed since"
    );
    let restored = Store::open(&data.join("legitka.db"), "s1").await.unwrap();
    assert_eq!(
        restored.register().await.unwrap().len(),
        1,
        "the backup's register"
    );
}

/// A restored register pauses only batches with cards still to print (a
/// decade holds thousands that are over), a batch waiting for blanks too,
/// and takes the loaded blanks out: loading them again does not set a
/// paused batch going by itself.
#[tokio::test]
async fn a_restore_pauses_the_batches_with_cards_to_print_and_empties_the_feeder() {
    use legitka::records::store::{BatchRequest, QueueMode, NO_BLANKS, RESTORED};
    let dir = tempfile::tempdir().unwrap();
    let store = common::records::store(&dir)
        .await
        .with_mode(QueueMode::Batch);
    let anna = common::records::anna();
    let orders: Vec<_> = (0..4).map(common::records::valid).collect();
    for o in &orders {
        store.offer(o).await.unwrap();
    }
    store
        .receive_blanks(&common::records::mein(), "000101", 10, false, &anna)
        .await
        .unwrap();
    let batch = |first: &str, o: &[&legitka::card::order::ValidOrder]| BatchRequest {
        first_blank: first.into(),
        orders: o.iter().map(|o| o.data.order_id.clone()).collect(),
        ..Default::default()
    };
    // One batch printed whole, one with a card still to print, one waiting
    // for blanks (its card found none loaded).
    let done = store
        .start_batch(&batch("000101", &[&orders[0]]), &anna)
        .await
        .unwrap()
        .id;
    common::records::print(&store, &orders[0]).await;
    let open = store
        .start_batch(&batch("000102", &[&orders[1]]), &anna)
        .await
        .unwrap()
        .id;
    let short = store
        .start_batch(&batch("000103", &[&orders[2]]), &anna)
        .await
        .unwrap()
        .id;
    store.unload_blanks("MEiN-I/1", &anna).await.unwrap();
    store
        .mark_printing(&orders[2].data.order_id, "m", "s")
        .await
        .unwrap();
    let status = |id: String| {
        let store = store.clone();
        async move {
            let b = store.batch(&id).await.unwrap();
            (b.status, b.paused_reason)
        }
    };
    assert_eq!(
        status(short.clone()).await,
        ("paused".into(), Some(NO_BLANKS.into()))
    );

    let (mut paused, unloaded) = store.restored("backup.db", &anna).await.unwrap();
    paused.sort();
    let mut want = vec![open.clone(), short.clone()];
    want.sort();
    assert_eq!(paused, want, "only batches with cards to print");
    assert!(unloaded.is_empty());
    assert_eq!(
        status(done).await.0,
        "running",
        "a batch that is over stays as it was"
    );
    for id in [&open, &short] {
        assert_eq!(
            status(id.clone()).await,
            ("paused".into(), Some(RESTORED.into()))
        );
    }
    // Blanks loaded in a restored register: the batches still wait for the
    // operator's word; a second restore takes them out again.
    store
        .load_blanks("MEiN-I/1", "000102", 3, &anna)
        .await
        .unwrap();
    assert_eq!(
        status(short).await,
        ("paused".into(), Some(RESTORED.into())),
        "loading blanks does not lift a restore's pause"
    );
    let (paused, unloaded) = store.restored("backup.db", &anna).await.unwrap();
    assert!(paused.is_empty(), "already paused");
    assert_eq!(
        unloaded,
        [(
            "MEiN-I/1".to_string(),
            vec![
                "000102".to_string(),
                "000103".to_string(),
                "000104".to_string()
            ]
        )]
    );
    assert_eq!(store.counts().await.unwrap().blanks_loaded, 0);
}
