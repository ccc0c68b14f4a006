//! Every stable problem code a client can see, in one enum (in the spirit of Lemmy's
//! error type). A code is the last segment of a problem's `type` URI
//! (`/problems/{code}`), which the service answers with a page built from the
//! explanations below; the OpenAPI document lists the same codes.

use serde::Serialize;
use utoipa::ToSchema;

macro_rules! problem_codes {
    ($( $(#[doc = $doc:literal])+ $variant:ident = $code:literal, )+) => {
        /// A stable, machine-readable problem code (`code` of every problem document).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ProblemCode {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl ProblemCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ProblemCode] = &[$(ProblemCode::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(ProblemCode::$variant => $code,)+ }
            }

            /// What the code means and what a client can do about it.
            pub fn explanation(self) -> &'static str {
                match self { $(ProblemCode::$variant => concat!($($doc),+),)+ }
            }
        }
    };
}

impl ProblemCode {
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// The `type` URI of a problem with this code.
    pub fn type_uri(self) -> String {
        format!("/problems/{}", self.as_str())
    }
}

impl std::fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

problem_codes! {
    // Generic outcomes, one per HTTP status.
    /// The request is malformed in a way no more specific code describes (400).
    BadRequest = "bad_request",
    /// One or more fields are invalid; `errors` lists each field with its own code (422).
    ValidationFailed = "validation_failed",
    /// No valid access token was sent, it expired, or its session ended (401). Sign in
    /// again, or refresh the access token.
    Unauthorized = "unauthorized",
    /// The signed-in account lacks the role this operation needs, or a rule forbids this
    /// person from doing it (separation of duties) (403).
    Forbidden = "forbidden",
    /// Nothing exists at this address, or it belongs to someone else (404).
    NotFound = "not_found",
    /// The path exists but not with this method; the `Allow` header lists the methods
    /// it answers (405).
    MethodNotAllowed = "method_not_allowed",
    /// The request body is larger than the service accepts (413).
    PayloadTooLarge = "payload_too_large",
    /// Too many attempts; wait the number of seconds in `Retry-After` (429).
    RateLimited = "rate_limited",
    /// A dependency (the database, the file store) is unavailable; retry after
    /// `Retry-After` seconds (503).
    Unavailable = "unavailable",
    /// An unexpected error; it was logged with the request id (500).
    InternalError = "internal_error",
    // Request shape.
    /// The JSON body could not be parsed, or a value has the wrong type (400).
    MalformedJson = "malformed_json",
    /// The JSON body has a member this operation does not know; `errors` names it (400).
    /// Unknown members are refused rather than ignored so a misspelt field is never lost.
    UnknownField = "unknown_field",
    /// The query string has an unknown parameter or a value of the wrong type (400).
    InvalidQuery = "invalid_query",
    /// The multipart form could not be read or misses a part (400).
    MalformedMultipart = "malformed_multipart",
    /// The uploaded CSV could not be parsed (400).
    MalformedCsv = "malformed_csv",
    /// The body has a content type this operation does not accept (400).
    UnsupportedMediaType = "unsupported_media_type",
    /// This operation moves money or creates a batch and needs an `Idempotency-Key`
    /// header (400).
    IdempotencyKeyRequired = "idempotency_key_required",
    /// The `Idempotency-Key` was already used: with a different request body (422, the
    /// header named in `errors`), or by a request still being processed (409).
    IdempotencyKeyReused = "idempotency_key_reused",
    /// The emailed link's token is unknown, used, revoked or expired (400). Ask for a
    /// new link.
    InvalidToken = "invalid_token",
    // Accounts.
    /// An account with this email address exists (409).
    EmailTaken = "email_taken",
    /// The email address is already verified (409).
    AlreadyVerified = "already_verified",
    /// Verify the email address first: nothing counts before it is verified (409).
    EmailNotVerified = "email_not_verified",
    /// The account may read its records but change nothing (rejected, removed or closed)
    /// (403).
    AccountReadOnly = "account_read_only",
    /// The account is suspended from new work: tests cannot be started or answered (403).
    AccountCannotWork = "account_cannot_work",
    /// An administrator cannot do this to their own account (409).
    OwnAccount = "own_account",
    /// An administrator cannot remove their own admin role (409).
    OwnAdminRole = "own_admin_role",
    /// The account is not a staff account (409).
    NotStaff = "not_staff",
    /// The staff member has already chosen a password: there is no invitation to send
    /// again (409).
    InvitationAccepted = "invitation_accepted",
    /// The account's lifecycle does not allow this change of status (409).
    InvalidTransition = "invalid_transition",
    // Work authorization and credentials.
    /// Attest a work authorization category before uploading documents (409).
    AttestationRequired = "attestation_required",
    /// No documents are expected for this authorization now (409).
    DocumentsNotExpected = "documents_not_expected",
    /// A document presented has already expired; an expired document is not acceptable
    /// (409).
    DocumentExpired = "document_expired",
    /// The authorization does not need reverification (409).
    ReverificationNotNeeded = "reverification_not_needed",
    /// The item is not waiting for a review decision (409).
    NotPendingReview = "not_pending_review",
    /// The item is in a state that does not allow this action (409).
    InvalidState = "invalid_state",
    /// The credential cannot be replaced in its current state (409).
    NotReplaceable = "not_replaceable",
    /// The removal proposal is not open (409).
    NotOpen = "not_open",
    /// A removal proposal for this person is already open (409).
    ProposalOpen = "proposal_open",
    /// The person was already removed (409).
    AlreadyRemoved = "already_removed",
    // Review queues.
    /// Claim the item before deciding it (409).
    ClaimRequired = "claim_required",
    /// Another reviewer holds the claim on this item until `claim_expires_at` (409).
    ClaimedByOther = "claimed_by_other",
    /// The item was already decided (409).
    AlreadyDecided = "already_decided",
    /// The contributor's tier changed since this standing move was proposed; read the
    /// standing again (409).
    StaleMove = "stale_move",
    /// Only a standing move that took effect can be appealed (409).
    NotInEffect = "not_in_effect",
    // Qualifications.
    /// A test or project type with this name exists (409).
    NameTaken = "name_taken",
    /// The test is retired: no new attempts or versions (409).
    TestRetired = "test_retired",
    /// An attempt is already in progress; finish it first (409).
    AttemptInProgress = "attempt_in_progress",
    /// Your last attempt is being graded; wait for its result (409).
    ResultPending = "result_pending",
    /// You already hold the qualification this test grants (409).
    AlreadyQualified = "already_qualified",
    /// Every allowed attempt of this test is used (409).
    AttemptsExhausted = "attempts_exhausted",
    /// The retry cooldown has not passed; `next_attempt_at` says when it does (409).
    Cooldown = "cooldown",
    /// A prerequisite of the test (a qualification or a verified credential) is missing
    /// (409).
    PrerequisiteMissing = "prerequisite_missing",
    /// The attempt is submitted or closed (409).
    AttemptClosed = "attempt_closed",
    /// The attempt's deadline (plus grace) has passed (409).
    DeadlinePassed = "deadline_passed",
    /// The answer was already graded (409).
    AlreadyGraded = "already_graded",
    /// The qualification was already revoked (409).
    AlreadyRevoked = "already_revoked",
    // Work and ledger.
    /// The work record was already appealed; a rejection may be appealed once (409).
    AlreadyAppealed = "already_appealed",
    /// The appeal window of this rejection has closed (409).
    AppealWindowClosed = "appeal_window_closed",
    /// Only a rejected work record can be appealed (409).
    NotRejected = "not_rejected",
    /// A work record with this task reference exists (409).
    TaskRefTaken = "task_ref_taken",
    /// This ledger transaction was already posted: money is earned and paid once (409).
    AlreadyPosted = "already_posted",
    // Payouts.
    /// The batch is not a draft (409).
    BatchNotDraft = "batch_not_draft",
    /// The batch is not approved (409).
    BatchNotApproved = "batch_not_approved",
    /// The batch is not exported (409).
    BatchNotExported = "batch_not_exported",
    /// The batch item is already paid, failed or returned (409).
    ItemAlreadyFinal = "item_already_final",
    /// No item of the batch uses this export format (409).
    NothingToExport = "nothing_to_export",
    /// No contributor is eligible for a payout now (409).
    NothingToPay = "nothing_to_pay",
    /// A payout release for this contributor already exists (409).
    ReleaseExists = "release_exists",
    /// The release is already approved (409).
    AlreadyApproved = "already_approved",
    /// The contributor is not removed, so no final-payout release applies (409).
    NotRemoved = "not_removed",
    /// A final payout is pending for this person, so the account cannot be closed yet
    /// (409).
    FinalPayoutBlocked = "final_payout_blocked",
    /// The payout method is being changed concurrently; retry (409).
    PayoutMethodTaken = "payout_method_taken",
    // Tax and administration.
    /// The B-notice was already cleared (409).
    AlreadyCleared = "already_cleared",
    /// No 1099-NEC threshold is on file for that year (409).
    ThresholdMissing = "threshold_missing",
    /// The email is not dead-lettered, so it cannot be requeued (409).
    NotDeadLettered = "not_dead_lettered",
    /// The resource already exists (409).
    AlreadyExists = "already_exists",
}

/// How a unique constraint the database refused maps to a code. PostgreSQL names the
/// constraint; SQLite names the columns (`UNIQUE constraint failed: users.email`).
struct UniqueRule {
    postgres: &'static str,
    sqlite: &'static str,
    code: ProblemCode,
    detail: &'static str,
}

const UNIQUE_RULES: &[UniqueRule] = &[
    UniqueRule {
        postgres: "users_email_key",
        sqlite: "users.email",
        code: ProblemCode::EmailTaken,
        detail: "an account with this email exists",
    },
    UniqueRule {
        postgres: "work_records_task_ref_key",
        sqlite: "work_records.task_ref",
        code: ProblemCode::TaskRefTaken,
        detail: "a work record with this task reference exists",
    },
    UniqueRule {
        postgres: "payout_batches_idempotency_key_key",
        sqlite: "payout_batches.idempotency_key",
        code: ProblemCode::IdempotencyKeyReused,
        detail: "a payout batch with this Idempotency-Key exists",
    },
    UniqueRule {
        postgres: "ledger_adjustments_idempotency",
        sqlite: "ledger_adjustments.created_by, ledger_adjustments.idempotency_key",
        code: ProblemCode::IdempotencyKeyReused,
        detail: "an adjustment with this Idempotency-Key exists",
    },
    UniqueRule {
        postgres: "ledger_transactions_kind_reference_key",
        sqlite: "ledger_transactions.kind, ledger_transactions.reference",
        code: ProblemCode::AlreadyPosted,
        detail: "this ledger transaction was already posted",
    },
    UniqueRule {
        postgres: "test_attempts_one_open",
        sqlite: "test_attempts.user_id",
        code: ProblemCode::AttemptInProgress,
        detail: "an attempt is already in progress",
    },
    UniqueRule {
        postgres: "project_types_name_key",
        sqlite: "project_types.name",
        code: ProblemCode::NameTaken,
        detail: "a project type with this name exists",
    },
    UniqueRule {
        postgres: "payout_methods_one_current",
        sqlite: "payout_methods.user_id",
        code: ProblemCode::PayoutMethodTaken,
        detail: "the payout method changed at the same time; retry",
    },
    UniqueRule {
        postgres: "payout_releases_contributor",
        sqlite: "payout_releases.contributor_id",
        code: ProblemCode::ReleaseExists,
        detail: "a payout release for this contributor exists",
    },
];

/// Every mapped unique constraint: (PostgreSQL's constraint or index name, the columns
/// SQLite names, its code). `tests/api/schema.rs` checks each exists on its backend, so a
/// renamed constraint cannot fall back to `already_exists` unnoticed.
pub fn unique_rules() -> impl Iterator<Item = (&'static str, &'static str, ProblemCode)> {
    UNIQUE_RULES.iter().map(|r| (r.postgres, r.sqlite, r.code))
}

/// The code and detail of a unique violation: by PostgreSQL's constraint name, or by the
/// columns SQLite names; anything unlisted is `already_exists`.
pub fn unique_violation(constraint: Option<&str>, sqlite_message: &str) -> (ProblemCode, &'static str) {
    let columns = sqlite_message.strip_prefix("UNIQUE constraint failed: ");
    UNIQUE_RULES
        .iter()
        .find(|r| constraint == Some(r.postgres) || columns == Some(r.sqlite))
        .map(|r| (r.code, r.detail))
        .unwrap_or((ProblemCode::AlreadyExists, "the resource already exists"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_explained() {
        let mut seen = std::collections::HashSet::new();
        for code in ProblemCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
            assert!(!code.explanation().trim().is_empty(), "{s}");
            assert_eq!(ProblemCode::parse(s), Some(*code));
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(s));
        }
        assert_eq!(ProblemCode::parse("nonsense"), None);
    }

    #[test]
    fn unique_violations_map_by_constraint_or_columns() {
        assert_eq!(unique_violation(Some("users_email_key"), "duplicate key").0, ProblemCode::EmailTaken);
        assert_eq!(unique_violation(None, "UNIQUE constraint failed: users.email").0, ProblemCode::EmailTaken);
        assert_eq!(
            unique_violation(None, "UNIQUE constraint failed: payout_batches.idempotency_key").0,
            ProblemCode::IdempotencyKeyReused
        );
        assert_eq!(unique_violation(Some("ledger_transactions_kind_reference_key"), "").0, ProblemCode::AlreadyPosted);
        assert_eq!(unique_violation(Some("outbox_event_key_key"), "").0, ProblemCode::AlreadyExists);
        assert_eq!(unique_violation(None, "UNIQUE constraint failed: outbox.event_key").0, ProblemCode::AlreadyExists);
    }
}
