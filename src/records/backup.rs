//! Backup files of the register: made from a consistent copy the store
//! takes (`Store::vacuum_into`), checked before they are kept, encrypted to
//! the school's `age` key when one is configured, the newest `keep` kept;
//! and restored only once checked.
//!
//! A backup holds everything the station does: the register (names, card
//! numbers, classes, birth dates), and the photos and PESELs of cards still
//! waiting or held. The plaintext copy is made beside the live database
//! (which holds the same) and only the encrypted file goes to the backup
//! directory, which may be a share or a removable disk.

use crate::records::store::{self, check_file, Problem, Store, StoreError};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use thiserror::Error;

/// The first line of an age file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/v1";

#[derive(Debug, Error)]
pub enum BackupError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("backup.recipient: {0}")]
    Recipient(String),
    #[error("{file} failed its check: {}", .problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Check {
        file: String,
        problems: Vec<Problem>,
    },
    #[error("{0} is encrypted: give the secret key that opens it (--identity FILE, the age key kept away from the station)")]
    NeedsIdentity(String),
    #[error("{0} cannot be opened with that key: {1}")]
    Decrypt(String, String),
    #[error("{file} was made by a newer legitka (database version {theirs}, this one knows up to {ours}): restore it with that version or newer")]
    Newer {
        file: String,
        theirs: i64,
        ours: i64,
    },
}

type Result<T> = std::result::Result<T, BackupError>;

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::Io(path.display().to_string(), e)
}

/// An `age` X25519 public key (`age1...`).
pub fn recipient(s: &str) -> std::result::Result<age::x25519::Recipient, String> {
    age::x25519::Recipient::from_str(s.trim()).map_err(|e| {
        format!("{e}: an age public key starts with age1 (made with age-keygen; keep its secret key away from the station)")
    })
}

/// A backup made.
#[derive(Debug)]
pub struct Made {
    pub file: PathBuf,
    pub bytes: u64,
    pub encrypted: bool,
    /// Older backups removed to keep the newest `keep`.
    pub removed: Vec<PathBuf>,
}

/// What a backup of `station` is named: its time, sortable.
fn name(station: &str, encrypted: bool) -> String {
    let at = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let ext = if encrypted { "db.age" } else { "db" };
    format!("legitka-{station}-{at}.{ext}")
}

/// A new empty file readable by its owner only (SQLite and `age` write
/// into it; the umask of whoever runs the backup does not count).
fn private_file(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))
}

/// Removes the file when dropped, unless kept: a failed backup or restore
/// leaves no plaintext copy behind.
struct Scratch(Option<PathBuf>);

impl Scratch {
    fn new(path: PathBuf) -> Self {
        Scratch(Some(path))
    }

    fn path(&self) -> &Path {
        self.0.as_deref().expect("a scratch file not yet kept")
    }

    /// The file stays; its path.
    fn keep(mut self) -> PathBuf {
        self.0.take().expect("kept once")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
            }
        }
    }
}

/// Makes a backup of the station's database into `to`: a consistent copy,
/// checked, encrypted when `recipient` is set, then the newest `keep` kept.
pub async fn make(
    store: &Store,
    data_dir: &Path,
    to: &Path,
    station: &str,
    keep: usize,
    recipient_key: Option<&str>,
) -> Result<Made> {
    let key = recipient_key
        .map(recipient)
        .transpose()
        .map_err(BackupError::Recipient)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(to)
        .map_err(io(to))?;
    sweep(data_dir, |n| {
        (n.starts_with(".backup-") || n.starts_with(".restore-")) && n.ends_with(".db")
    });
    // What a backup killed mid-write (SIGTERM on removal) left in `to`.
    let prefix = format!("legitka-{station}-");
    sweep(to, |n| n.starts_with(&prefix) && n.ends_with(".partial"));
    let scratch = Scratch::new(data_dir.join(format!(".backup-{}.db", std::process::id())));
    let _ = std::fs::remove_file(scratch.path());
    private_file(scratch.path())?;
    store.vacuum_into(scratch.path()).await?;
    let problems = check_file(scratch.path()).await?;
    if !problems.is_empty() {
        return Err(BackupError::Check {
            file: "the copy".into(),
            problems,
        });
    }
    let final_path = to.join(name(station, key.is_some()));
    let partial = final_path.with_extension("partial");
    let (src, dst) = (scratch.path().to_path_buf(), partial.clone());
    let encrypted = key.is_some();
    tokio::task::spawn_blocking(move || write_out(&src, &dst, key))
        .await
        .expect("backup writer panicked")?;
    std::fs::rename(&partial, &final_path).map_err(io(&final_path))?;
    if let Ok(d) = std::fs::File::open(to) {
        let _ = d.sync_all();
    }
    let bytes = std::fs::metadata(&final_path)
        .map_err(io(&final_path))?
        .len();
    let removed = prune(to, station, keep)?;
    Ok(Made {
        file: final_path,
        bytes,
        encrypted,
        removed,
    })
}

/// Removes files `ours` names in `dir` that are hours old: plaintext copies
/// a killed backup or restore left. One running now keeps its own.
fn sweep(dir: &Path, ours: impl Fn(&str) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(6 * 3600));
        if old && ours(&e.file_name().to_string_lossy()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Copies (or encrypts) `src` into a new private `dst`, on disk when done.
fn write_out(src: &Path, dst: &Path, key: Option<age::x25519::Recipient>) -> Result<()> {
    let mut input = std::fs::File::open(src).map_err(io(src))?;
    let out = private_file(dst)?;
    let guard = Scratch::new(dst.to_path_buf());
    let out = match key {
        Some(k) => {
            let enc = age::Encryptor::with_recipients(std::iter::once(&k as &dyn age::Recipient))
                .map_err(|e| BackupError::Recipient(e.to_string()))?;
            let mut w = enc
                .wrap_output(std::io::BufWriter::new(out))
                .map_err(io(dst))?;
            std::io::copy(&mut input, &mut w).map_err(io(dst))?;
            w.finish()
                .map_err(io(dst))?
                .into_inner()
                .map_err(|e| BackupError::Io(dst.display().to_string(), e.into_error()))?
        }
        None => {
            let mut w = std::io::BufWriter::new(out);
            std::io::copy(&mut input, &mut w).map_err(io(dst))?;
            w.into_inner()
                .map_err(|e| BackupError::Io(dst.display().to_string(), e.into_error()))?
        }
    };
    out.sync_all().map_err(io(dst))?;
    guard.keep();
    Ok(())
}

/// The backups of `station` in `dir`, oldest first.
pub fn list(dir: &Path, station: &str) -> Result<Vec<PathBuf>> {
    let prefix = format!("legitka-{station}-");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            // legitka-STATION-YYYYMMDDT...: another station's backups in
            // the same directory (sp7-b beside sp7) are not this one's.
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.strip_prefix(&prefix).is_some_and(|rest| {
                    rest.len() > 9
                        && rest.as_bytes()[..8].iter().all(u8::is_ascii_digit)
                        && rest.as_bytes()[8] == b'T'
                }) && (n.ends_with(".db") || n.ends_with(".db.age"))
            })
        })
        .collect();
    // The names carry the time in a sortable form.
    found.sort();
    Ok(found)
}

/// Removes all but the newest `keep` backups of `station` in `dir`.
fn prune(dir: &Path, station: &str, keep: usize) -> Result<Vec<PathBuf>> {
    let all = list(dir, station)?;
    let old = all.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for p in all.into_iter().take(old) {
        std::fs::remove_file(&p).map_err(io(&p))?;
        removed.push(p);
    }
    Ok(removed)
}

/// A backup about to become the station's database: decrypted (if it is
/// encrypted) next to it, of a version this station reads, migrated to
/// this version (a copy that cannot be is refused before anything is
/// replaced), and checked. The caller holds the daemon's lock.
pub async fn prepare(from: &Path, identity: Option<&Path>, data_dir: &Path) -> Result<PathBuf> {
    let mut head = [0u8; AGE_MAGIC.len()];
    let mut f = std::fs::File::open(from).map_err(io(from))?;
    let n = f.read(&mut head).map_err(io(from))?;
    drop(f);
    let encrypted = n == AGE_MAGIC.len() && head == AGE_MAGIC;
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    let scratch = Scratch::new(data_dir.join(format!(".restore-{}.db", std::process::id())));
    let _ = std::fs::remove_file(scratch.path());
    let (src, dst) = (from.to_path_buf(), scratch.path().to_path_buf());
    if encrypted {
        let Some(identity) = identity else {
            return Err(BackupError::NeedsIdentity(from.display().to_string()));
        };
        let id = identity.to_path_buf();
        tokio::task::spawn_blocking(move || decrypt(&src, &id, &dst))
            .await
            .expect("restore reader panicked")?;
    } else {
        tokio::task::spawn_blocking(move || write_out(&src, &dst, None))
            .await
            .expect("restore reader panicked")?;
    }
    let theirs = store::schema_version_of(scratch.path()).await?;
    let ours = store::schema_version();
    if theirs > ours {
        return Err(BackupError::Newer {
            file: from.display().to_string(),
            theirs,
            ours,
        });
    }
    let copy = Store::open(scratch.path(), "restore").await?;
    let problems = copy.check().await;
    copy.close().await;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", scratch.path().display()));
    }
    let problems = problems?;
    if !problems.is_empty() {
        return Err(BackupError::Check {
            file: from.display().to_string(),
            problems,
        });
    }
    Ok(scratch.keep())
}

/// Decrypts `src` into a new private `dst` (the caller removes it if
/// anything after fails).
fn decrypt(src: &Path, identity: &Path, dst: &Path) -> Result<()> {
    let bad = |e: String| BackupError::Decrypt(src.display().to_string(), e);
    let ids = age::IdentityFile::from_file(identity.display().to_string())
        .map_err(|e| bad(format!("reading {}: {e}", identity.display())))?
        .into_identities()
        .map_err(|e| bad(e.to_string()))?;
    let input = std::io::BufReader::new(std::fs::File::open(src).map_err(io(src))?);
    let dec = age::Decryptor::new_buffered(input).map_err(|e| bad(e.to_string()))?;
    let mut r = dec
        .decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| bad(e.to_string()))?;
    let mut out = private_file(dst)?;
    std::io::copy(&mut r, &mut out).map_err(|e| bad(e.to_string()))?;
    out.flush().map_err(io(dst))?;
    out.sync_all().map_err(io(dst))
}

/// Puts a prepared copy in place of the station's database. The database
/// it replaces (if any) is kept beside it, renamed, with its log files: the
/// operator removes it once the restored register is found right.
pub fn put_in_place(prepared: &Path, db: &Path) -> Result<Option<PathBuf>> {
    let mut kept = None;
    let at = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let aside = PathBuf::from(format!("{}.replaced-{at}", db.display()));
    // The log files too, even without their database: a stale log beside
    // the restored file would be replayed onto it.
    for suffix in ["-wal", "-shm", ""] {
        let from = PathBuf::from(format!("{}{suffix}", db.display()));
        if from.exists() {
            let to = PathBuf::from(format!("{}{suffix}", aside.display()));
            std::fs::rename(&from, &to).map_err(io(&from))?;
            kept = Some(aside.clone());
        }
    }
    std::fs::rename(prepared, db).map_err(io(db))?;
    std::fs::set_permissions(db, std::fs::Permissions::from_mode(0o600)).map_err(io(db))?;
    Ok(kept)
}
