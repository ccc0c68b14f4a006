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
#[diesel(table_name = decisions, treat_none_as_default_value = false)]
pub struct NewDecisionRow<'a> {
    pub user_id: i64,
    pub subject_type: DecisionSubject,
    pub subject_id: &'a str,
    pub outcome: DecisionOutcome,
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
    pub fn parts(self) -> (DecisionSubject, DecisionOutcome, bool) {
        match self {
            Self::WorkAuthorizationVerified => (DecisionSubject::WorkAuthorization, DecisionOutcome::Verified, false),
            Self::WorkAuthorizationRejected => (DecisionSubject::WorkAuthorization, DecisionOutcome::Rejected, false),
            Self::WorkAuthorizationMoreInfoRequested => {
                (DecisionSubject::WorkAuthorization, DecisionOutcome::MoreInfoRequested, false)
            }
            Self::WorkAuthorizationRejectedAutomatically => {
                (DecisionSubject::WorkAuthorization, DecisionOutcome::Rejected, true)
            }
            Self::CredentialVerified => (DecisionSubject::Credential, DecisionOutcome::Verified, false),
            Self::CredentialRejected => (DecisionSubject::Credential, DecisionOutcome::Rejected, false),
            Self::CredentialMoreInfoRequested => {
                (DecisionSubject::Credential, DecisionOutcome::MoreInfoRequested, false)
            }
            Self::CredentialLapsed => (DecisionSubject::Credential, DecisionOutcome::Lapsed, true),
            Self::AccountRemoved => (DecisionSubject::Account, DecisionOutcome::Removed, false),
            Self::AccountClosed => (DecisionSubject::Account, DecisionOutcome::Closed, false),
            Self::AccountSuspended => (DecisionSubject::Account, DecisionOutcome::Suspended, true),
            Self::AccountEarningsReleased => (DecisionSubject::Account, DecisionOutcome::EarningsReleased, false),
            Self::WorkRecordApproved => (DecisionSubject::WorkRecord, DecisionOutcome::Approved, false),
            Self::WorkRecordRejected => (DecisionSubject::WorkRecord, DecisionOutcome::Rejected, false),
            Self::WorkRecordAutoApproved => (DecisionSubject::WorkRecord, DecisionOutcome::Approved, true),
            Self::AppealUpheld => (DecisionSubject::WorkAppeal, DecisionOutcome::Upheld, false),
            Self::AppealOverturned => (DecisionSubject::WorkAppeal, DecisionOutcome::Overturned, false),
            Self::QualityWarning => (DecisionSubject::QualityStanding, DecisionOutcome::Warning, true),
            Self::QualityRetraining => (DecisionSubject::QualityStanding, DecisionOutcome::Retraining, true),
            Self::QualitySuspension => (DecisionSubject::QualityStanding, DecisionOutcome::Suspension, true),
            Self::StandingPromotion => (DecisionSubject::StandingMove, DecisionOutcome::Promotion, true),
            Self::StandingPromotionConfirmed => (DecisionSubject::StandingMove, DecisionOutcome::Promotion, false),
            Self::StandingDemotion => (DecisionSubject::StandingMove, DecisionOutcome::Demotion, true),
            Self::StandingDemotionConfirmed => (DecisionSubject::StandingMove, DecisionOutcome::Demotion, false),
            Self::StandingAppealUpheld => (DecisionSubject::StandingMoveAppeal, DecisionOutcome::Upheld, false),
            Self::StandingAppealOverturned => (DecisionSubject::StandingMoveAppeal, DecisionOutcome::Overturned, false),
        }
    }

    /// The kind of a recorded decision (`automatic`: no person decided).
    pub fn of(subject_type: DecisionSubject, outcome: DecisionOutcome, automatic: bool) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.parts() == (subject_type, outcome, automatic))
    }
}

#[cfg(test)]
mod closed_sets {
    use super::*;

    /// Every decision kind is one (subject, outcome, automatic) triple: `of` finds each
    /// kind from its own parts, so no two kinds share them.
    #[test]
    fn every_kind_is_found_from_its_parts() {
        for kind in DecisionKind::ALL {
            let (subject, outcome, automatic) = kind.parts();
            assert_eq!(DecisionKind::of(subject, outcome, automatic), Some(kind));
        }
    }
}
