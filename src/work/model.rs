use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{quality_standings, work_appeals, work_records};

crate::text_enum! {
    pub enum WorkStatus {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
    }
}

#[derive(Insertable)]
/// `None` is NULL, not the column default, so a chunk of records is one multi-row INSERT
/// on SQLite (see `payouts::model::NewItemRow`).
#[diesel(table_name = work_records, treat_none_as_default_value = false)]
pub struct NewWorkRecordRow<'a> {
    pub contributor_id: i64,
    pub project_type_id: i64,
    pub task_ref: &'a str,
    pub unit_kind: crate::ledger::money::UnitKind,
    pub quantity: String,
    pub rate: String,
    pub pay_cents: i64,
    pub completed_at: NaiveDateTime,
    pub ingested_at: NaiveDateTime,
    pub ingested_by: i64,
    pub status: WorkStatus,
    pub review_due_at: NaiveDateTime,
    pub consensus_agreement_percent: Option<i32>,
    pub gold_score_percent: Option<i32>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = work_records)]
pub struct WorkRecordRow {
    pub id: i64,
    pub contributor_id: i64,
    pub project_type_id: i64,
    pub task_ref: String,
    pub unit_kind: crate::ledger::money::UnitKind,
    pub quantity: String,
    pub rate: String,
    pub pay_cents: i64,
    pub completed_at: NaiveDateTime,
    pub ingested_at: NaiveDateTime,
    pub ingested_by: i64,
    pub status: WorkStatus,
    pub review_due_at: NaiveDateTime,
    pub claimed_by: Option<i64>,
    pub claim_expires_at: Option<NaiveDateTime>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
    pub decision_source: Option<DecisionSource>,
    pub reason_code: Option<String>,
    pub note: Option<String>,
    pub snapshot_ref: Option<String>,
    pub appeal_deadline: Option<NaiveDateTime>,
    pub approved_at: Option<NaiveDateTime>,
    pub hold_until: Option<NaiveDateTime>,
    pub released_at: Option<NaiveDateTime>,
    pub consensus_agreement_percent: Option<i32>,
    pub gold_score_percent: Option<i32>,
}

impl WorkRecordRow {
    pub fn status(&self) -> WorkStatus {
        self.status
    }
}

crate::text_enum! {
    /// Who decided a work record.
    pub enum DecisionSource {
        Reviewer = "reviewer",
        /// Approved automatically when the review window closed.
        Auto = "auto",
        /// Overturned on appeal.
        Appeal = "appeal",
    }
}

crate::text_enum! {
    pub enum AppealStatus {
        Pending = "pending",
        Upheld = "upheld",
        Overturned = "overturned",
    }
}

#[derive(Insertable)]
#[diesel(table_name = work_appeals)]
pub struct NewAppealRow<'a> {
    pub work_record_id: i64,
    pub contributor_id: i64,
    pub rejected_by: Option<i64>,
    pub message: &'a str,
    pub status: AppealStatus,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = work_appeals)]
pub struct AppealRow {
    pub id: i64,
    pub work_record_id: i64,
    pub contributor_id: i64,
    pub rejected_by: Option<i64>,
    pub message: String,
    pub status: AppealStatus,
    pub created_at: NaiveDateTime,
    pub claimed_by: Option<i64>,
    pub claim_expires_at: Option<NaiveDateTime>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
    pub reason_code: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = quality_standings)]
pub struct StandingRow {
    pub user_id: i64,
    pub level: super::quality::Level,
    pub rejection_share_percent: i32,
    pub decided_count: i32,
    pub updated_at: NaiveDateTime,
}
