use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::files;

crate::text_enum! {
    /// What an uploaded file is for: who may read it follows from this.
    pub enum FilePurpose {
        WorkAuthorization = "work_authorization",
        Credential = "credential",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = files)]
pub struct FileRow {
    pub id: i64,
    pub owner_id: i64,
    pub storage_key: String,
    pub sha256: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub purpose: FilePurpose,
    pub created_at: NaiveDateTime,
    /// Deleted by a retention rule: the row stays, the bytes are gone.
    pub deleted_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = files)]
pub struct NewFileRow<'a> {
    pub owner_id: i64,
    pub storage_key: &'a str,
    pub sha256: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub purpose: FilePurpose,
    pub created_at: NaiveDateTime,
}
