use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::decisions;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = decisions)]
pub struct Decision {
    pub id: i64,
    pub user_id: i64,
    /// What was decided on.
    pub subject_type: DecisionSubject,
    pub subject_id: String,
    pub outcome: DecisionOutcome,
    pub reason_code: String,
    pub note: String,
    /// The staff member, or null for an automatic decision.
    pub decided_by: Option<i64>,
    #[serde(with = "crate::clock::utc")]
    pub decided_at: NaiveDateTime,
}

crate::text_enum! {
    /// What a decision is about.
    pub enum DecisionSubject {
        WorkAuthorization = "work_authorization",
        Credential = "credential",
        Account = "account",
        WorkRecord = "work_record",
        WorkAppeal = "work_appeal",
        QualityStanding = "quality_standing",
        StandingMove = "standing_move",
        StandingMoveAppeal = "standing_move_appeal",
    }
}

crate::text_enum! {
    /// What was decided.
    pub enum DecisionOutcome {
        Verified = "verified",
        Rejected = "rejected",
        MoreInfoRequested = "more_info_requested",
        Lapsed = "lapsed",
        Removed = "removed",
        Closed = "closed",
        Suspended = "suspended",
        EarningsReleased = "earnings_released",
        Approved = "approved",
        Upheld = "upheld",
        Overturned = "overturned",
        Warning = "warning",
        Retraining = "retraining",
        Suspension = "suspension",
        Promotion = "promotion",
        Demotion = "demotion",
    }
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

/// Every kind of decision the service takes about a person: what was decided on, the
/// outcome, and whether a person (staff, or the contributor) or the service decided.
/// `decisions::record` refuses a decision of any other kind, and the decision-kind test
/// (tests/api/decisions.rs) produces each of these through the API and checks that it
/// was recorded and emailed: a new kind must be listed here, and then covered there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DecisionKind {
    WorkAuthorizationVerified,
    WorkAuthorizationRejected,
    WorkAuthorizationMoreInfoRequested,
    /// Attested no US work authorization or residence outside the US.
    WorkAuthorizationRejectedAutomatically,
    CredentialVerified,
    CredentialRejected,
    CredentialMoreInfoRequested,
    /// An expiring license or certification lapsed (job).
    CredentialLapsed,
    AccountRemoved,
    AccountClosed,
    /// Work authorization expired (job).
    AccountSuspended,
    AccountEarningsReleased,
    WorkRecordApproved,
    WorkRecordRejected,
    /// Not reviewed within the review window (job; one digest email per person per run).
    WorkRecordAutoApproved,
    AppealUpheld,
    AppealOverturned,
    QualityWarning,
    QualityRetraining,
    QualitySuspension,
    /// Standing moves (issue 24): applied by the nightly run, or confirmed by a reviewer
    /// when the settings ask for it. Produced and checked (record and email) by
    /// tests/api/quality.rs, see [`DecisionKind::COVERED_BY_QUALITY_TESTS`].
    StandingPromotion,
    StandingPromotionConfirmed,
    StandingDemotion,
    StandingDemotionConfirmed,
    StandingAppealUpheld,
    StandingAppealOverturned,
}

impl DecisionKind {
    pub const ALL: [Self; 26] = [
        Self::WorkAuthorizationVerified,
        Self::WorkAuthorizationRejected,
        Self::WorkAuthorizationMoreInfoRequested,
        Self::WorkAuthorizationRejectedAutomatically,
        Self::CredentialVerified,
        Self::CredentialRejected,
        Self::CredentialMoreInfoRequested,
        Self::CredentialLapsed,
        Self::AccountRemoved,
        Self::AccountClosed,
        Self::AccountSuspended,
        Self::AccountEarningsReleased,
        Self::WorkRecordApproved,
        Self::WorkRecordRejected,
        Self::WorkRecordAutoApproved,
        Self::AppealUpheld,
        Self::AppealOverturned,
        Self::QualityWarning,
        Self::QualityRetraining,
        Self::QualitySuspension,
        Self::StandingPromotion,
        Self::StandingPromotionConfirmed,
        Self::StandingDemotion,
        Self::StandingDemotionConfirmed,
        Self::StandingAppealUpheld,
        Self::StandingAppealOverturned,
    ];

    /// Kinds whose scenarios (a standing built from quality signals over a window, then
    /// the nightly run) live in tests/api/quality.rs, which asserts their decision and
    /// email; the decision-kind test in tests/api/decisions.rs covers every other kind.
    pub const COVERED_BY_QUALITY_TESTS: [Self; 6] = [
        Self::StandingPromotion,
        Self::StandingPromotionConfirmed,
        Self::StandingDemotion,
        Self::StandingDemotionConfirmed,
        Self::StandingAppealUpheld,
        Self::StandingAppealOverturned,
    ];

    /// `(subject_type, outcome, decided by the service)`.
    pub fn parts(self) -> (&'static str, &'static str, bool) {
        match self {
            Self::WorkAuthorizationVerified => ("work_authorization", "verified", false),
            Self::WorkAuthorizationRejected => ("work_authorization", "rejected", false),
            Self::WorkAuthorizationMoreInfoRequested => ("work_authorization", "more_info_requested", false),
            Self::WorkAuthorizationRejectedAutomatically => ("work_authorization", "rejected", true),
            Self::CredentialVerified => ("credential", "verified", false),
            Self::CredentialRejected => ("credential", "rejected", false),
            Self::CredentialMoreInfoRequested => ("credential", "more_info_requested", false),
            Self::CredentialLapsed => ("credential", "lapsed", true),
            Self::AccountRemoved => ("account", "removed", false),
            Self::AccountClosed => ("account", "closed", false),
            Self::AccountSuspended => ("account", "suspended", true),
            Self::AccountEarningsReleased => ("account", "earnings_released", false),
            Self::WorkRecordApproved => ("work_record", "approved", false),
            Self::WorkRecordRejected => ("work_record", "rejected", false),
            Self::WorkRecordAutoApproved => ("work_record", "approved", true),
            Self::AppealUpheld => ("work_appeal", "upheld", false),
            Self::AppealOverturned => ("work_appeal", "overturned", false),
            Self::QualityWarning => ("quality_standing", "warning", true),
            Self::QualityRetraining => ("quality_standing", "retraining", true),
            Self::QualitySuspension => ("quality_standing", "suspension", true),
            Self::StandingPromotion => ("standing_move", "promotion", true),
            Self::StandingPromotionConfirmed => ("standing_move", "promotion", false),
            Self::StandingDemotion => ("standing_move", "demotion", true),
            Self::StandingDemotionConfirmed => ("standing_move", "demotion", false),
            Self::StandingAppealUpheld => ("standing_move_appeal", "upheld", false),
            Self::StandingAppealOverturned => ("standing_move_appeal", "overturned", false),
        }
    }

    /// The kind of a recorded decision (`automatic`: no person decided).
    pub fn of(subject_type: &str, outcome: &str, automatic: bool) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.parts() == (subject_type, outcome, automatic))
    }
}

#[cfg(test)]
mod closed_sets {
    use super::*;

    /// Every decision kind is stored with a subject and an outcome the enums (and the
    /// CHECK constraints that mirror them) know.
    #[test]
    fn every_kind_has_a_known_subject_and_outcome() {
        for kind in DecisionKind::ALL {
            let (subject, outcome, _) = kind.parts();
            assert!(DecisionSubject::parse(subject).is_some(), "{kind:?}: {subject}");
            assert!(DecisionOutcome::parse(outcome).is_some(), "{kind:?}: {outcome}");
        }
    }
}
