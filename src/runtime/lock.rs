//! One daemon per database. A second station on the same register would
//! hold the first one's card in the printer as interrupted at its start-up
//! (and that card, printed, would go unregistered), and both would feed the
//! same blanks. The daemon holds an exclusive lock on `legitka.lock` beside
//! the database for its whole life; the file names the holder's pid.

use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LockError {
    #[error("another legitka daemon ({holder}) is running on {dir}: stop it first (systemctl stop legitka), or give this one its own data_dir")]
    Held { dir: String, holder: String },
    #[error("lock file {0}: {1}")]
    Io(String, std::io::Error),
}

/// Held until dropped (the process's end, a kill included: the kernel
/// releases it).
pub struct DaemonLock {
    _file: Flock<File>,
    pub path: PathBuf,
}

impl DaemonLock {
    pub fn take(data_dir: &Path) -> Result<Self, LockError> {
        let path = data_dir.join("legitka.lock");
        let io = |e: std::io::Error| LockError::Io(path.display().to_string(), e);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(f) => f,
            Err((mut file, _)) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Held {
                    dir: data_dir.display().to_string(),
                    holder: if holder.is_empty() {
                        "pid unknown".into()
                    } else {
                        holder.chars().take(40).collect()
                    },
                });
            }
        };
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "pid {}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(DaemonLock { _file: file, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_daemon_on_the_same_directory_is_refused_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = DaemonLock::take(dir.path()).unwrap();
        let err = DaemonLock::take(dir.path()).err().expect("refused");
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        DaemonLock::take(dir.path()).expect("free again once the first is gone");
    }
}
