//! After a rotation: re-encrypt what an older key sealed, in batches that each commit on
//! their own (so a stopped run resumes where it stopped), and count what still uses a key
//! before it is retired.
//!
//! Fields: every `*_enc` column (its `v<N>:` tag names the key). Files: every object of
//! the `files` table (its storage key names the key): read and decrypted, sealed again
//! under a new storage key, the row pointed at it only if it still names the old object
//! (a conditional UPDATE), then the old object deleted.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;

use crate::db::schema::files;
use crate::db::{Backend, DbConn};
use crate::error::AppResult;
use crate::AppState;

/// Every encrypted column: (table, primary key, column). A new encrypted column is added
/// here, or rotation would leave it on the old key (and `usage` would not see it).
pub const ENCRYPTED_FIELDS: &[(&str, &str, &str)] = &[
    ("contributor_profiles", "user_id", "date_of_birth_enc"),
    ("work_authorization_documents", "id", "number_enc"),
    ("tax_profiles", "id", "tin_enc"),
    ("payout_methods", "id", "details_enc"),
    ("payout_change_notices", "id", "corrected_enc"),
];

/// What still uses one key version.
#[derive(Debug, Default, Serialize)]
pub struct Usage {
    pub version: u32,
    /// `table.column` → rows sealed with this version.
    pub fields: BTreeMap<String, i64>,
    pub files: i64,
}

impl Usage {
    pub fn total(&self) -> i64 {
        self.fields.values().sum::<i64>() + self.files
    }
}

/// What one re-encryption run did.
#[derive(Debug, Default, Serialize)]
pub struct ReencryptReport {
    pub fields: u64,
    pub files: u64,
    /// False when the run stopped at its batch limit: run it again to go on.
    pub done: bool,
    /// Values or objects that did not decrypt with any key of the ring (left as they
    /// are, named here so an operator can look).
    pub failed: Vec<String>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    value: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Bind placeholders: PostgreSQL numbers them, SQLite takes `?`.
fn placeholder(conn: &DbConn, n: usize) -> String {
    match conn.backend() {
        Backend::Postgres => format!("${n}"),
        Backend::Sqlite => "?".to_string(),
    }
}

/// `LIKE` patterns of the storage keys sealed with `version` (suffix-less keys are 1).
fn file_version_filter(version: u32) -> String {
    if version == 1 {
        "(storage_key NOT LIKE '%.k%' OR storage_key LIKE '%.k1')".to_string()
    } else {
        format!("storage_key LIKE '%.k{version}'")
    }
}

pub fn usage(state: &AppState, version: u32) -> AppResult<Usage> {
    state.db.read_sync(|conn| {
        let mut usage = Usage { version, ..Usage::default() };
        for (table, _, column) in ENCRYPTED_FIELDS {
            let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} LIKE 'v{version}:%'");
            let n = diesel::sql_query(sql).get_result::<Count>(conn)?.n;
            usage.fields.insert(format!("{table}.{column}"), n);
        }
        // A file deleted at the end of its retention has no object left to re-encrypt.
        let sql =
            format!("SELECT COUNT(*) AS n FROM files WHERE deleted_at IS NULL AND {}", file_version_filter(version));
        usage.files = diesel::sql_query(sql).get_result::<Count>(conn)?.n;
        Ok(usage)
    })
}

/// Re-encrypts everything not sealed with the current key, `batch` rows or files at a
/// time, until nothing is left or `max_batches` batches have run. Each batch commits on
/// its own, so a run stopped anywhere (limit, crash, kill) is resumed by the next one.
pub fn reencrypt(state: &AppState, batch: i64, max_batches: Option<u64>) -> AppResult<ReencryptReport> {
    let mut report = ReencryptReport::default();
    let mut budget = max_batches.unwrap_or(u64::MAX);
    for field in ENCRYPTED_FIELDS {
        let mut after = i64::MIN;
        loop {
            if budget == 0 {
                return Ok(report);
            }
            budget -= 1;
            match reencrypt_field_batch(state, *field, after, batch, &mut report)? {
                Some(last) => after = last,
                None => break,
            }
        }
    }
    let mut after = i64::MIN;
    loop {
        if budget == 0 {
            return Ok(report);
        }
        budget -= 1;
        match reencrypt_file_batch(state, after, batch, &mut report)? {
            Some(last) => after = last,
            None => break,
        }
    }
    report.done = true;
    Ok(report)
}

/// One committed batch of one column, after primary key `after`; the last key seen, or
/// `None` when the column is done.
fn reencrypt_field_batch(
    state: &AppState,
    (table, pk, column): (&str, &str, &str),
    after: i64,
    batch: i64,
    report: &mut ReencryptReport,
) -> AppResult<Option<i64>> {
    let current = state.cipher.current_version();
    state.db.tx_sync(|conn| {
        let select = format!(
            "SELECT {pk} AS id, {column} AS value FROM {table} WHERE {column} IS NOT NULL \
             AND {column} NOT LIKE 'v{current}:%' AND {pk} > {} ORDER BY {pk} LIMIT {batch}",
            placeholder(conn, 1)
        );
        let rows: Vec<Row> = diesel::sql_query(select).bind::<BigInt, _>(after).load(conn)?;
        let update = format!(
            "UPDATE {table} SET {column} = {} WHERE {pk} = {} AND {column} = {}",
            placeholder(conn, 1),
            placeholder(conn, 2),
            placeholder(conn, 3)
        );
        for row in &rows {
            let Ok(plain) = state.cipher.decrypt_str(&row.value) else {
                report.failed.push(format!("{table}.{column} {pk}={}", row.id));
                continue;
            };
            let sealed = state.cipher.encrypt_str(&plain);
            report.fields += diesel::sql_query(&update)
                .bind::<Text, _>(&sealed)
                .bind::<BigInt, _>(row.id)
                .bind::<Text, _>(&row.value)
                .execute(conn)? as u64;
        }
        Ok(rows.last().map(|r| r.id))
    })
}

/// One batch of files after id `after`; each file commits on its own.
fn reencrypt_file_batch(
    state: &AppState,
    after: i64,
    batch: i64,
    report: &mut ReencryptReport,
) -> AppResult<Option<i64>> {
    let suffix = format!("%.k{}", state.cipher.current_version());
    let rows: Vec<(i64, String)> = state.db.read_sync(|conn| {
        Ok(files::table
            .filter(files::id.gt(after))
            .filter(files::storage_key.not_like(&suffix))
            .filter(files::deleted_at.is_null())
            .order(files::id)
            .limit(batch)
            .select((files::id, files::storage_key))
            .load(conn)?)
    })?;
    for (id, old_key) in &rows {
        let plain = match state.files.get(old_key) {
            Ok(plain) => plain,
            Err(crate::storage::StoreError::Corrupt | crate::storage::StoreError::NotFound) => {
                report.failed.push(format!("files id={id}"));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let new_key = state.files.put(&plain)?;
        let switched = state.db.tx_sync(|conn| {
            Ok(diesel::update(files::table.filter(files::id.eq(id)).filter(files::storage_key.eq(old_key)))
                .set(files::storage_key.eq(&new_key))
                .execute(conn)?)
        });
        match switched {
            Ok(1) => {
                report.files += 1;
                if let Err(e) = state.files.delete(old_key) {
                    tracing::warn!(file_id = id, error = %e, "re-encrypted file: the old object stays behind");
                }
            }
            other => {
                // Changed meanwhile, or the update failed: the new copy is not used.
                let _ = state.files.delete(&new_key);
                other?;
            }
        }
    }
    Ok(rows.last().map(|r| r.0))
}
