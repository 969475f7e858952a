//! Online backup and restore of the SQLite database, and the lock that
//! keeps two processes off one data directory.
//!
//! `tavolo-server backup --out FILE` copies the database while the server
//! runs: SQLite's backup API, all pages in one step under one read
//! transaction, so the copy is the database as of one commit — every
//! change acknowledged before the backup began is in it (a change is
//! acknowledged only once committed). The copy is made self-contained
//! (rollback journal instead of WAL), checked with `integrity_check`, and
//! only then renamed to `FILE`.
//!
//! `tavolo-server restore --from FILE` puts a backup in place. The server
//! must be stopped (the data directory's lock says whether one runs); an
//! existing database is kept beside it, renamed, never overwritten.
//! PostgreSQL is backed up with its own tools (`pg_dump`; see
//! docs/deploy/README.md).

use anyhow::{Context, bail};
use rusqlite::{Connection, OpenFlags};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The database's file name inside the data directory.
pub const DB_FILE: &str = "tavolo.sqlite3";
/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "tavolo.lock";

/// Holds the data directory for this process (released when dropped or when
/// the process ends, however it ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Takes the data directory's lock, or says that another process has it.
pub fn lock_data_dir(dir: &Path) -> anyhow::Result<DataDirLock> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(DataDirLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another tavolo-server is using {} (stop it first)",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// What a backup or a restore did.
#[derive(Debug)]
pub struct Summary {
    pub path: PathBuf,
    pub bytes: u64,
    pub sessions: i64,
    pub took: Duration,
}

fn open_read_only(path: &Path) -> anyhow::Result<Connection> {
    if !path.is_file() {
        bail!("{} does not exist", path.display());
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(30))?;
    Ok(conn)
}

/// Checks that `conn` is a sound Tavolo database; returns its session count.
fn check(conn: &Connection, what: &Path) -> anyhow::Result<i64> {
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .with_context(|| format!("{} is not a readable SQLite database", what.display()))?;
    if verdict != "ok" {
        bail!("{} is damaged: {verdict}", what.display());
    }
    conn.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .with_context(|| format!("{} is not a Tavolo database", what.display()))
}

fn sync_dir(dir: &Path) {
    // Makes the rename durable; a failure here is not worth failing for.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Copies the database in `data_dir` to `out` while a server may be
/// writing to it.
pub fn backup(data_dir: &Path, out: &Path, force: bool) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let source_path = data_dir.join(DB_FILE);
    if out.exists() && !force {
        bail!(
            "{} exists; choose another name or pass --force to replace it",
            out.display()
        );
    }
    let source = open_read_only(&source_path)?;
    let dir = parent_of(out);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.partial",
        out.file_name()
            .map_or("tavolo-backup".into(), |n| n.to_string_lossy())
    ));
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut dest =
            Connection::open(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        {
            use rusqlite::backup::StepResult;
            let b = rusqlite::backup::Backup::new(&source, &mut dest)?;
            // -1: every page in one step, under one read transaction: a
            // snapshot as of one commit, whatever the server writes meanwhile.
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                match b.step(-1).context("copying the database")? {
                    StepResult::Done => break,
                    StepResult::More => {}
                    StepResult::Busy | StepResult::Locked if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    other => bail!("the database stayed busy for a minute ({other:?})"),
                }
            }
        }
        // One self-contained file: no WAL beside it.
        dest.pragma_update(None, "journal_mode", "DELETE")?;
        let sessions = check(&dest, &tmp)?;
        drop(dest);
        File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, out)
            .with_context(|| format!("renaming {} to {}", tmp.display(), out.display()))?;
        sync_dir(&dir);
        anyhow::Ok(sessions)
    })();
    let sessions = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    Ok(Summary {
        path: out.to_path_buf(),
        bytes: std::fs::metadata(out)?.len(),
        sessions,
        took: started.elapsed(),
    })
}

/// Puts the backup `from` in place as the database of `data_dir`. The
/// server must be stopped. An existing database is renamed (with its WAL)
/// to `tavolo.sqlite3.before-restore-<unix seconds>` when `force` is set,
/// and the restore is refused otherwise.
pub fn restore(data_dir: &Path, from: &Path, force: bool) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let _lock = lock_data_dir(data_dir)?;
    let sessions = {
        let conn = open_read_only(from)?;
        check(&conn, from)?
    };
    let target = data_dir.join(DB_FILE);
    if target.exists() {
        if !force {
            bail!(
                "{} already holds a database; pass --force to keep it aside (renamed) and restore",
                data_dir.display()
            );
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        for suffix in ["", "-wal", "-shm"] {
            let old = data_dir.join(format!("{DB_FILE}{suffix}"));
            if old.exists() {
                let kept = data_dir.join(format!("{DB_FILE}.before-restore-{stamp}{suffix}"));
                std::fs::rename(&old, &kept)
                    .with_context(|| format!("keeping {} aside", old.display()))?;
            }
        }
    }
    let tmp = data_dir.join(format!("{DB_FILE}.restoring"));
    std::fs::copy(from, &tmp).with_context(|| format!("copying {}", from.display()))?;
    File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, &target)?;
    sync_dir(data_dir);
    Ok(Summary {
        path: target.clone(),
        bytes: std::fs::metadata(&target)?.len(),
        sessions,
        took: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &Path, sessions: usize) {
        let conn = Connection::open(dir.join(DB_FILE)).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE sessions (id TEXT PRIMARY KEY)")
            .unwrap();
        for i in 0..sessions {
            conn.execute("INSERT INTO sessions VALUES (?1)", [format!("s{i}")])
                .unwrap();
        }
    }

    #[test]
    fn a_second_process_cannot_take_a_locked_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_data_dir(dir.path()).unwrap();
        let e = lock_data_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("another tavolo-server"), "{e}");
        drop(held);
        lock_data_dir(dir.path()).expect("free again once released");
    }

    #[test]
    fn backup_copies_checks_and_never_overwrites_unasked() {
        let dir = tempfile::tempdir().unwrap();
        database(dir.path(), 3);
        let out = dir.path().join("b/copy.sqlite3");
        let s = backup(dir.path(), &out, false).unwrap();
        assert_eq!(s.sessions, 3);
        assert!(s.bytes > 0);
        let e = backup(dir.path(), &out, false).unwrap_err().to_string();
        assert!(e.contains("--force"), "{e}");
        backup(dir.path(), &out, true).unwrap();
        // Self-contained: no WAL mode recorded in the copy.
        let c = Connection::open(&out).unwrap();
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        let none = tempfile::tempdir().unwrap();
        let e = backup(none.path(), &out, true).unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
    }

    #[test]
    fn restore_refuses_garbage_and_keeps_the_database_it_replaces() {
        let src = tempfile::tempdir().unwrap();
        database(src.path(), 2);
        let file = src.path().join("backup.sqlite3");
        backup(src.path(), &file, false).unwrap();

        let garbage = src.path().join("garbage");
        std::fs::write(&garbage, b"not a database at all, not even close").unwrap();
        let target = tempfile::tempdir().unwrap();
        assert!(restore(target.path(), &garbage, true).is_err());
        assert!(
            !target.path().join(DB_FILE).exists(),
            "garbage was put in place"
        );

        restore(target.path(), &file, false).unwrap();
        database_count(target.path(), 2);
        // A database is there now: not replaced without --force, then kept.
        let e = restore(target.path(), &file, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--force"), "{e}");
        restore(target.path(), &file, true).unwrap();
        let kept = std::fs::read_dir(target.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("before-restore"))
            .count();
        assert!(kept >= 1, "the replaced database was not kept");
        // Not while a server holds the directory.
        let _held = lock_data_dir(target.path()).unwrap();
        let e = restore(target.path(), &file, true).unwrap_err().to_string();
        assert!(e.contains("another tavolo-server"), "{e}");
    }

    fn database_count(dir: &Path, n: i64) {
        let c = Connection::open(dir.join(DB_FILE)).unwrap();
        let got: i64 = c
            .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(got, n);
    }
}
