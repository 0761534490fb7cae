//! A SQLite outage: the database's files taken away from under a running server, and put back.

use std::path::Path;

/// Makes the SQLite database at `db` unreachable: its files (with the WAL and shared-memory
/// files) move to `away`. Root ignores permissions, so a `chmod` would not do.
pub fn move_away(db: &Path, away: &Path) {
    std::fs::create_dir_all(away).unwrap();
    let name = db.file_name().unwrap().to_string_lossy().into_owned();
    for suffix in ["", "-wal", "-shm"] {
        let file = db.with_file_name(format!("{name}{suffix}"));
        if file.exists() {
            std::fs::rename(&file, away.join(format!("{name}{suffix}"))).unwrap();
        }
    }
}

/// Puts back what [`move_away`] took, in place of a folder put there meanwhile.
pub fn bring_back(db: &Path, away: &Path) {
    if db.is_dir() {
        std::fs::remove_dir(db).unwrap();
    }
    for entry in std::fs::read_dir(away).unwrap() {
        let entry = entry.unwrap();
        std::fs::rename(entry.path(), db.with_file_name(entry.file_name())).unwrap();
    }
}
