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

crate::text_enum! {
    /// The file types accepted, detected from the bytes (never the client's word).
    pub enum ContentType {
        Pdf = "application/pdf",
        Png = "image/png",
        Jpeg = "image/jpeg",
    }
}

impl ContentType {
    /// Shown inline as a picture in the review pages.
    pub fn is_image(self) -> bool {
        matches!(self, Self::Png | Self::Jpeg)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = files)]
pub struct FileRow {
    pub id: i64,
    pub owner_id: i64,
    pub storage_key: String,
    pub sha256: String,
    pub content_type: ContentType,
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
    pub content_type: ContentType,
    pub size_bytes: i64,
    pub purpose: FilePurpose,
    pub created_at: NaiveDateTime,
}
