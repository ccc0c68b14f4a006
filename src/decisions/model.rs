use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::decisions;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = decisions)]
pub struct Decision {
    pub id: i64,
    pub user_id: i64,
    /// What was decided on, e.g. `work_authorization`, `account`.
    pub subject_type: String,
    pub subject_id: String,
    /// e.g. `verified`, `rejected`, `more_info_requested`, `suspended`.
    pub outcome: String,
    pub reason_code: String,
    pub note: String,
    /// The staff member, or null for an automatic decision.
    pub decided_by: Option<i64>,
    pub decided_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = decisions)]
pub struct NewDecisionRow<'a> {
    pub user_id: i64,
    pub subject_type: &'a str,
    pub subject_id: &'a str,
    pub outcome: &'a str,
    pub reason_code: &'a str,
    pub note: &'a str,
    pub decided_by: Option<i64>,
    pub decided_at: NaiveDateTime,
}
