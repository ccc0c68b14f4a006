use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::rules::{Figures, StandingTier};
use crate::db::schema::{domain_standings, standing_moves};

crate::text_enum! {
    /// Where a standing move is.
    pub enum MoveStatus {
        /// Waits for a reviewer to confirm it (the human-confirmation setting).
        Proposed = "proposed",
        /// A reviewer declined it: it never took effect.
        Dismissed = "dismissed",
        /// In effect; the contributor may appeal it until the appeal deadline.
        Applied = "applied",
        /// Appealed: a reviewer decides.
        Appealed = "appealed",
        /// The appeal was decided and the move stands.
        Upheld = "upheld",
        /// The appeal was decided for the contributor: the previous tier is back.
        Overturned = "overturned",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = domain_standings)]
pub struct StandingRow {
    pub user_id: i64,
    pub domain: String,
    pub tier: StandingTier,
    pub tier_since: Option<NaiveDateTime>,
    pub agreement_count: i32,
    pub agreement_points: i64,
    pub gold_count: i32,
    pub gold_points: i64,
    pub decided_count: i32,
    pub rejected_count: i32,
    pub computed_at: NaiveDateTime,
}

impl StandingRow {
    pub fn figures(&self) -> Figures {
        Figures {
            agreement_count: self.agreement_count as i64,
            agreement_points: self.agreement_points,
            gold_count: self.gold_count as i64,
            gold_points: self.gold_points,
            decided_count: self.decided_count as i64,
            rejected_count: self.rejected_count as i64,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = standing_moves, treat_none_as_default_value = false)]
pub struct NewMoveRow<'a> {
    pub user_id: i64,
    pub domain: &'a str,
    pub direction: super::rules::Direction,
    pub from_tier: StandingTier,
    pub to_tier: StandingTier,
    pub reason_code: super::rules::MoveReason,
    pub figures: String,
    pub note: &'a str,
    pub status: MoveStatus,
    pub proposed_at: NaiveDateTime,
    pub effective_at: Option<NaiveDateTime>,
    pub appeal_deadline: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = standing_moves)]
pub struct MoveRow {
    pub id: i64,
    pub user_id: i64,
    pub domain: String,
    pub direction: super::rules::Direction,
    pub from_tier: StandingTier,
    pub to_tier: StandingTier,
    pub reason_code: super::rules::MoveReason,
    pub figures: String,
    pub note: String,
    pub status: MoveStatus,
    pub proposed_at: NaiveDateTime,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub review_note: Option<String>,
    pub effective_at: Option<NaiveDateTime>,
    pub appeal_deadline: Option<NaiveDateTime>,
    pub appeal_message: Option<String>,
    pub appealed_at: Option<NaiveDateTime>,
    pub claimed_by: Option<i64>,
    pub claim_expires_at: Option<NaiveDateTime>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
    pub decision_reason_code: Option<String>,
    pub decision_note: Option<String>,
}

impl MoveRow {
    pub fn status(&self) -> MoveStatus {
        self.status
    }
}
