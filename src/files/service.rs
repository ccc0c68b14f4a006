use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{ContentType, FileRow, NewFileRow};
use crate::audit::{AuditAction, AuditSubject};
use crate::auth::{AuthUser, Role};
use crate::crypto::sha256_hex;
use crate::db::schema::files;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::AppState;

/// The content types accepted, decided from the bytes, never from the file name or the
/// client's Content-Type.
pub fn sniff(bytes: &[u8]) -> Option<ContentType> {
    ContentType::parse(infer::get(bytes)?.mime_type())
}

/// A file checked and written to the store, not yet recorded in the database.
pub struct StoredFile {
    pub storage_key: String,
    pub sha256: String,
    pub content_type: ContentType,
    pub size: i64,
}

/// Checks the type and writes the encrypted bytes. `field` names the form field in errors.
pub fn store(state: &AppState, field: &str, bytes: &[u8]) -> AppResult<StoredFile> {
    if bytes.is_empty() {
        return Err(AppError::field(field, "empty", "the file is empty"));
    }
    let content_type =
        sniff(bytes).ok_or_else(|| AppError::field(field, "file_type", "only PDF, PNG and JPEG files are accepted"))?;
    let storage_key = state.files.put(bytes)?;
    Ok(StoredFile { storage_key, sha256: sha256_hex(bytes), content_type, size: bytes.len() as i64 })
}

/// Removes stored files whose database transaction failed, so nothing is half-stored.
pub fn discard(state: &AppState, stored: &[StoredFile]) {
    for f in stored {
        if let Err(e) = state.files.delete(&f.storage_key) {
            tracing::warn!(error = %e, "could not remove an orphaned upload");
        }
    }
}

pub fn record(
    conn: &mut DbConn,
    now: NaiveDateTime,
    owner_id: i64,
    purpose: super::model::FilePurpose,
    f: &StoredFile,
) -> AppResult<i64> {
    Ok(diesel::insert_into(files::table)
        .values(NewFileRow {
            owner_id,
            storage_key: &f.storage_key,
            sha256: &f.sha256,
            content_type: f.content_type,
            size_bytes: f.size,
            purpose,
            created_at: now,
        })
        .returning(files::id)
        .get_result(conn)?)
}

pub fn find(conn: &mut DbConn, id: i64) -> AppResult<FileRow> {
    Ok(files::table.find(id).select(FileRow::as_select()).first(conn)?)
}

/// Whether reviewer `reviewer_id` holds, at `now`, a live claim on a review item that
/// file `file_id` belongs to. Each capability whose review items carry files provides
/// one ([`register_claimed_file_check`]), so `files` depends on none of them.
pub type ClaimedFileCheck =
    fn(conn: &mut DbConn, now: NaiveDateTime, reviewer_id: i64, file_id: i64) -> AppResult<bool>;

static CLAIMED_FILE_CHECKS: std::sync::RwLock<Vec<(&'static str, ClaimedFileCheck)>> =
    std::sync::RwLock::new(Vec::new());

/// Registers the claim check of the review items named `name` (once per name; a second
/// registration of the name replaces the first). Done at start-up (`AppState::init`):
/// without one, no reviewer reads those items' files.
pub fn register_claimed_file_check(name: &'static str, check: ClaimedFileCheck) {
    let mut checks = CLAIMED_FILE_CHECKS.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    match checks.iter_mut().find(|(n, _)| *n == name) {
        Some(entry) => entry.1 = check,
        None => checks.push((name, check)),
    }
}

fn claimed_file_checks() -> Vec<ClaimedFileCheck> {
    CLAIMED_FILE_CHECKS.read().unwrap_or_else(|poisoned| poisoned.into_inner()).iter().map(|(_, c)| *c).collect()
}

/// Who may read a file: its owner, an admin, or a reviewer whose work needs it right
/// now (a claim on the review item it belongs to, by the registered checks). Anyone else
/// is told it does not exist.
pub fn authorize_read(conn: &mut DbConn, now: NaiveDateTime, user: &AuthUser, file: &FileRow) -> AppResult<()> {
    if file.owner_id == user.id || user.has(Role::Admin) {
        return Ok(());
    }
    if user.has(Role::Reviewer) {
        for check in claimed_file_checks() {
            if check(conn, now, user.id, file.id)? {
                return Ok(());
            }
        }
    }
    Err(AppError::NotFound)
}

/// A file and its bytes for `user`: its owner, an admin, or a reviewer holding the claim
/// on the item it belongs to. Reads by anyone but the owner are audited.
pub fn open(st: &AppState, user: &AuthUser, id: i64) -> AppResult<(FileRow, Vec<u8>)> {
    let file = st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let file = find(conn, id)?;
        authorize_read(conn, now, user, &file)?;
        if file.deleted_at.is_some() {
            return Err(AppError::NotFound);
        }
        if file.owner_id != user.id {
            crate::audit::record(
                conn,
                now,
                &user.ctx,
                crate::audit::AuditEvent {
                    actor_id: Some(user.id),
                    action: AuditAction::FileDownloaded,
                    subject_type: AuditSubject::File,
                    subject_id: Some(file.id.to_string()),
                    summary: serde_json::json!({"owner_id": file.owner_id, "purpose": file.purpose}),
                },
            )?;
        }
        Ok(file)
    })?;
    let bytes = st.files.get(&file.storage_key)?;
    Ok((file, bytes))
}
