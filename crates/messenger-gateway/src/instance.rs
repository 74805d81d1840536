//! Who this gateway instance is: its name in the store's lease holders, and what it owns while
//! it runs (decision 0018).
//!
//! - On SQLite, one gateway owns the database file: it holds an advisory lock (`flock`) on
//!   `<database>.lock` beside the file for its whole life, and a second process on the same file
//!   is refused at start, naming the file and the holder's process id. So when a gateway starts,
//!   every lease in the file was taken by an earlier run of it that died: it takes them all back
//!   at once, whatever name they carry ([`TakeBack::Every`]).
//! - On PostgreSQL, instances share the database. One with `server.instance_id` uses it; one
//!   without keeps a stable id of its own in `server.state_dir`: the first of the slot files
//!   `instance-0`, `instance-1`, ... it can lock holds it (made at random the first time), so a
//!   restart on the same machine gets the same id back and takes back its own leases at once
//!   ([`TakeBack::Own`]), while two live processes never share one (each holds its slot's lock).
//! - `memory://`: nothing to own; a random id.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::GatewayError;

/// Slot files tried in `state_dir` before giving up: more instances than one machine runs.
const SLOTS: usize = 64;

/// Which leases a starting instance takes back from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TakeBack {
    /// Every lease: the instance owns the store (its SQLite file).
    Every,
    /// Those held under its own id: another instance may be running on the same database.
    Own,
}

/// This process's identity and the locks it holds for its whole life.
#[derive(Debug)]
pub(crate) struct Instance {
    /// The name lease holders start with (`{id}/dispatch-0`, `{id}/webhooks`).
    pub id: String,
    /// Which leases to take back at start.
    pub take_back: TakeBack,
    /// Where the id came from, for the start-up log.
    pub origin: &'static str,
    /// Held until the process ends (or the gateway is shut down): dropping a file releases its
    /// lock.
    _locks: Vec<File>,
}

impl Instance {
    /// Claims what the store `config.database` names: the SQLite file's lock, or a stable id
    /// on PostgreSQL (see the module documentation).
    pub(crate) fn claim(config: &Config) -> Result<Self, GatewayError> {
        let configured = config.server.instance_id.clone();
        if let Some(DatabaseLock(lock)) = lock_database(config)? {
            return Ok(Self {
                origin: if configured.is_some() {
                    "server.instance_id"
                } else {
                    "random (the SQLite file is this process's own)"
                },
                id: configured.unwrap_or_else(random_id),
                take_back: TakeBack::Every,
                _locks: vec![lock],
            });
        }
        let postgres = messenger_store_sql::Backend::from_url(config.database.url.expose())
            == Some(messenger_store_sql::Backend::Postgres);
        match configured {
            Some(id) => Ok(Self::named(id)),
            None if postgres => {
                let (id, slot) = stable_id(&config.server.state_dir)?;
                Ok(Self {
                    id,
                    take_back: TakeBack::Own,
                    origin: "kept in server.state_dir",
                    _locks: vec![slot],
                })
            }
            None => Ok(Self {
                id: random_id(),
                take_back: TakeBack::Own,
                origin: "random",
                _locks: Vec::new(),
            }),
        }
    }

    /// For a store the caller supplied ([`crate::GatewayBuilder::store`]): nothing to own; the
    /// configured id or a random one, taking back only its own leases.
    pub(crate) fn for_supplied_store(config: &Config) -> Self {
        match config.server.instance_id.clone() {
            Some(id) => Self::named(id),
            None => Self {
                id: random_id(),
                take_back: TakeBack::Own,
                origin: "random",
                _locks: Vec::new(),
            },
        }
    }

    fn named(id: String) -> Self {
        Self {
            id,
            take_back: TakeBack::Own,
            origin: "server.instance_id",
            _locks: Vec::new(),
        }
    }
}

/// The lock a process holds on its SQLite file (`<database>.lock`) until this is dropped.
#[derive(Debug)]
pub struct DatabaseLock(File);

/// Takes the lock of the SQLite file `config.database` names, for as long as the returned
/// [`DatabaseLock`] lives (`None` for other stores and in-memory SQLite): what `serve`,
/// `migrate` and `restore` hold, so that one process at a time has the file. Creates the
/// database's directory. A file another process holds is [`GatewayError::DatabaseInUse`].
pub fn lock_database(config: &Config) -> Result<Option<DatabaseLock>, GatewayError> {
    let Some(db) = crate::database::sqlite_file(config.database.url.expose()) else {
        return Ok(None);
    };
    let lock_path = lock_path_of(&db);
    if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(state_error(dir))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(state_error(&lock_path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(GatewayError::DatabaseInUse {
                path: db,
                holder: text.trim().parse().ok(),
            });
        }
        Err(TryLockError::Error(e)) => return Err(state_error(&lock_path)(e)),
    }
    // The holder's process id, for the refusal a second process gets.
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .map_err(state_error(&lock_path))?;
    Ok(Some(DatabaseLock(file)))
}

/// `<database>.lock`, beside the database file.
pub(crate) fn lock_path_of(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    db.with_file_name(name)
}

/// The id kept in the first slot file of `dir` this process can lock, made the first time.
fn stable_id(dir: &Path) -> Result<(String, File), GatewayError> {
    std::fs::create_dir_all(dir).map_err(state_error(dir))?;
    for slot in 0..SLOTS {
        let path = dir.join(format!("instance-{slot}"));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(state_error(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            // A live instance has it.
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(e)) => return Err(state_error(&path)(e)),
        }
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(state_error(&path))?;
        let kept = text.trim();
        if valid_id(kept) {
            return Ok((kept.to_owned(), file));
        }
        // New (or cut short by a crash while it was written: nobody used it then).
        let id = random_id();
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{id}"))
            .and_then(|()| file.sync_all())
            .map_err(state_error(&path))?;
        return Ok((id, file));
    }
    Err(GatewayError::State {
        path: dir.to_path_buf(),
        source: std::io::Error::other(format!(
            "all {SLOTS} instance id slots are held by running gateways"
        )),
    })
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

fn state_error(path: &Path) -> impl FnOnce(std::io::Error) -> GatewayError + '_ {
    move |source| GatewayError::State {
        path: path.to_path_buf(),
        source,
    }
}

/// `gw-` and 8 hex digits from the clock and the process id: distinct enough for lease holders.
fn random_id() -> String {
    use sha2::{Digest, Sha256};
    let seed = format!("{:?}:{}", std::time::SystemTime::now(), std::process::id());
    format!("gw-{}", &hex::encode(Sha256::digest(seed.as_bytes()))[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stable_id_comes_back_and_is_never_shared() {
        let dir = tempfile::tempdir().unwrap();
        let (first, held) = stable_id(dir.path()).unwrap();
        assert!(first.starts_with("gw-"), "{first}");
        // A second live instance (another lock on the same file) gets a slot of its own.
        let (second, other) = stable_id(dir.path()).unwrap();
        assert_ne!(first, second);
        drop(held);
        drop(other);
        // Restarted: the same ids, in the same order.
        let (again, _held) = stable_id(dir.path()).unwrap();
        assert_eq!(again, first);
        let (again2, _other) = stable_id(dir.path()).unwrap();
        assert_eq!(again2, second);
    }

    #[test]
    fn a_slot_cut_short_gets_a_new_id() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("instance-0"), "").unwrap();
        let (id, _held) = stable_id(dir.path()).unwrap();
        assert!(valid_id(&id));
        let kept = std::fs::read_to_string(dir.path().join("instance-0")).unwrap();
        assert_eq!(kept.trim(), id);
    }

    #[test]
    fn lock_files_sit_beside_the_database() {
        assert_eq!(
            lock_path_of(Path::new("./data/messenger.db")),
            PathBuf::from("./data/messenger.db.lock")
        );
        assert_eq!(lock_path_of(Path::new("m.db")), PathBuf::from("m.db.lock"));
    }
}
