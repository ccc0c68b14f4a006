//! Backups of the file store (docs/deploy.md): the sealed objects every `files` row names,
//! copied as they are (still encrypted) to a local directory, put back into a store, and
//! checked against the database after a restore.

use std::path::Path;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::files;
use crate::error::{AppError, AppResult};
use crate::storage::{key_version, Blobs, StoreError};
use crate::AppState;

#[derive(Debug, Default, Serialize)]
pub struct CopyReport {
    pub copied: u64,
    /// Already in the destination (backups are incremental: objects never change).
    pub present: u64,
    /// Named by the database, absent from the store.
    pub missing: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct VerifyReport {
    pub files: u64,
    /// Rows whose object is missing or does not decrypt with the key ring.
    pub unreadable: Vec<String>,
}

/// The objects the database still names: a file deleted at the end of its retention
/// (Form I-9 documents) keeps its row as a record, but has no object left.
fn keys(state: &AppState) -> AppResult<Vec<(i64, String)>> {
    state.db.read_sync(|c| {
        Ok(files::table
            .filter(files::deleted_at.is_null())
            .order(files::id)
            .select((files::id, files::storage_key))
            .load(c)?)
    })
}

fn io(e: std::io::Error) -> AppError {
    AppError::Internal(e.into())
}

/// Copies every object the database names from `blobs` into `dir` (one file per storage
/// key). Take it right after the database dump: objects are immutable, so an object
/// present in `dir` is not copied again.
pub fn backup(state: &AppState, blobs: &dyn Blobs, dir: &Path) -> AppResult<CopyReport> {
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut report = CopyReport::default();
    for (id, key) in keys(state)? {
        key_version(&key)?;
        let target = dir.join(&key);
        if target.exists() {
            report.present += 1;
            continue;
        }
        match blobs.get(&key) {
            Ok(bytes) => {
                let partial = dir.join(format!("{key}.part"));
                std::fs::write(&partial, bytes).map_err(io)?;
                std::fs::rename(&partial, &target).map_err(io)?;
                report.copied += 1;
            }
            Err(StoreError::NotFound) => report.missing.push(format!("files id={id} key={key}")),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(report)
}

/// Puts every object of a backup directory into `blobs` (a new bucket, or the same one
/// after a loss), unchanged.
pub fn restore(blobs: &dyn Blobs, dir: &Path) -> AppResult<CopyReport> {
    let mut report = CopyReport::default();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let Some(key) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if key_version(key).is_err() {
            continue; // not an object of ours (a .part left by an interrupted backup)
        }
        blobs.put(key, std::fs::read(&path).map_err(io)?)?;
        report.copied += 1;
    }
    Ok(report)
}

/// Reads and decrypts every file the database names: after a restore, proof that the
/// database, the objects and the keys belong together.
pub fn verify(state: &AppState) -> AppResult<VerifyReport> {
    let mut report = VerifyReport::default();
    for (id, key) in keys(state)? {
        report.files += 1;
        match state.files.get(&key) {
            Ok(_) => {}
            Err(StoreError::NotFound | StoreError::Corrupt | StoreError::InvalidKey) => {
                report.unreadable.push(format!("files id={id} key={key}"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(report)
}
