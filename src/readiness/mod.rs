//! The readiness checker (SPEC §2): "what stops me from working, or from being paid?"
//!
//! Each capability contributes its own requirements through a [`Provider`] that reads its
//! own facts, registered at start-up (`startup::register_capabilities`): this module
//! names no capability, so none of them is in an import circle with it.

pub mod routes;

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::model::User;
use crate::db::among::Among;
use crate::db::DbConn;
use crate::error::AppResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequirementStatus {
    CurrentlyDue,
    PendingReview,
    PastDue,
    Satisfied,
}

/// What a requirement holds back when it is not satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Blocks {
    Work,
    Payouts,
}

/// A requirement's stable code: one of a closed set, or `credential:{id}` for a credential
/// that needs attention (one line per credential). Serialized as that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequirementCode {
    AccountInGoodStanding,
    EmailVerified,
    ProfileComplete,
    WorkAuthorization,
    WorkAuthorizationCurrent,
    W9OnFile,
    BNoticeW9,
    BNoticeTinValidation,
    BackupWithholding,
    PayoutMethod,
    PayoutMethodNeedsUpdate,
    PayoutMethodChangeHold,
    PayoutMinimumBalance,
    PaymentHold,
    QualityStanding,
    /// `credential:{id}`.
    Credential(i64),
}

impl RequirementCode {
    /// Every code but the per-credential one, in the order the OpenAPI lists them.
    pub const FIXED: &'static [Self] = &[
        Self::AccountInGoodStanding,
        Self::EmailVerified,
        Self::ProfileComplete,
        Self::WorkAuthorization,
        Self::WorkAuthorizationCurrent,
        Self::W9OnFile,
        Self::BNoticeW9,
        Self::BNoticeTinValidation,
        Self::BackupWithholding,
        Self::PayoutMethod,
        Self::PayoutMethodNeedsUpdate,
        Self::PayoutMethodChangeHold,
        Self::PayoutMinimumBalance,
        Self::PaymentHold,
        Self::QualityStanding,
    ];

    /// The text of a fixed code; `None` for `credential:{id}`.
    pub fn fixed_str(self) -> Option<&'static str> {
        self.text().ok()
    }

    /// The text of a fixed code, or the id of a credential's.
    fn text(self) -> Result<&'static str, i64> {
        Ok(match self {
            Self::AccountInGoodStanding => "account_in_good_standing",
            Self::EmailVerified => "email_verified",
            Self::ProfileComplete => "profile_complete",
            Self::WorkAuthorization => "work_authorization",
            Self::WorkAuthorizationCurrent => "work_authorization_current",
            Self::W9OnFile => "w9_on_file",
            Self::BNoticeW9 => "b_notice_w9",
            Self::BNoticeTinValidation => "b_notice_tin_validation",
            Self::BackupWithholding => "backup_withholding",
            Self::PayoutMethod => "payout_method",
            Self::PayoutMethodNeedsUpdate => "payout_method_needs_update",
            Self::PayoutMethodChangeHold => "payout_method_change_hold",
            Self::PayoutMinimumBalance => "payout_minimum_balance",
            Self::PaymentHold => "payment_hold",
            Self::QualityStanding => "quality_standing",
            Self::Credential(id) => return Err(id),
        })
    }
}

impl std::fmt::Display for RequirementCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.text() {
            Ok(text) => f.write_str(text),
            Err(id) => write!(f, "credential:{id}"),
        }
    }
}

impl Serialize for RequirementCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Codes in plain words, for a page: `w9 on file, payout minimum balance`.
pub fn in_words(codes: &[RequirementCode]) -> String {
    codes.iter().map(|c| c.to_string().replace('_', " ")).collect::<Vec<_>>().join(", ")
}

/// [`RequirementCode`] in the OpenAPI: one of the fixed codes, or `credential:{id}`.
fn requirement_code_one_of() -> utoipa::openapi::schema::OneOfBuilder {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    let fixed: Vec<&str> = RequirementCode::FIXED.iter().filter_map(|c| c.fixed_str()).collect();
    OneOfBuilder::new().item(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(fixed))).item(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r"^credential:[0-9]+$"))
            .description(Some("A credential that needs attention, by id.")),
    )
}

/// [`RequirementCode`] in the OpenAPI (`schema_with` of a field).
pub fn requirement_code_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::Schema::OneOf(requirement_code_one_of().build())
}

/// A list of [`RequirementCode`]s in the OpenAPI.
pub fn requirement_codes_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new().items(requirement_code_one_of()).build()
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Requirement {
    /// Stable code, e.g. `email_verified`, `work_authorization`, `credential:12`.
    #[schema(schema_with = requirement_code_schema)]
    pub code: RequirementCode,
    pub status: RequirementStatus,
    pub due_by: Option<NaiveDate>,
    /// What the person can do about it, in plain words.
    pub how_to_fix: String,
    pub blocks: Vec<Blocks>,
    /// Where the person reads more (e.g. `/api/v1/me/standing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Requirement {
    pub fn new(code: RequirementCode, status: RequirementStatus, how_to_fix: impl Into<String>) -> Self {
        Self { code, status, due_by: None, how_to_fix: how_to_fix.into(), blocks: vec![Blocks::Work], link: None }
    }
    pub fn satisfied(code: RequirementCode) -> Self {
        Self::new(code, RequirementStatus::Satisfied, "")
    }
    /// Informational: shown, but holds nothing back.
    pub fn blocking_nothing(mut self) -> Self {
        self.blocks.clear();
        self
    }
    pub fn due_by(mut self, date: Option<NaiveDate>) -> Self {
        self.due_by = date;
        self
    }
    pub fn link(mut self, link: &str) -> Self {
        self.link = Some(link.to_string());
        self
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub user_id: i64,
    pub status: crate::auth::model::UserStatus,
    /// True when nothing blocks new work.
    pub can_work: bool,
    /// True when nothing blocks payouts.
    pub can_be_paid: bool,
    pub requirements: Vec<Requirement>,
}

/// The person evaluated, and what every provider may read without a query of its own:
/// the account and the `available` balance.
pub struct Person {
    pub user: User,
    pub available_cents: i64,
}

/// What one provider read about one person, evaluated without the database.
pub trait ProviderFacts: Send + std::any::Any {
    /// The provider's requirements for `person` at `now`.
    fn requirements(&self, now: NaiveDateTime, person: &Person, payout_minimum_cents: i64) -> Vec<Requirement>;
    /// For callers that read a provider's facts back ([`Facts::part`]).
    fn as_any(&self) -> &dyn std::any::Any;
}

/// A capability's part of readiness: it reads its own facts (in bulk) and turns them into
/// requirements. Each capability implements one in its `readiness.rs` and registers it at
/// start-up ([`register_provider`]), so this module depends on none of them.
pub trait Provider: Sync {
    /// A stable name, unique among providers.
    fn name(&self) -> &'static str;
    /// This provider's facts about `people`, a handful of queries for all of them, each
    /// filtered by `among` (their ids: [`crate::among!`]): one per person, in the same
    /// order.
    fn load(
        &self,
        conn: &mut DbConn,
        now: NaiveDateTime,
        people: &[Person],
        among: Among<'_>,
    ) -> AppResult<Vec<Box<dyn ProviderFacts>>>;
}

static PROVIDERS: std::sync::RwLock<Vec<&'static dyn Provider>> = std::sync::RwLock::new(Vec::new());

/// Adds a provider (once per name; a second registration of a name replaces the first).
/// Requirements are listed in registration order.
pub fn register_provider(provider: &'static dyn Provider) {
    let mut all = PROVIDERS.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    match all.iter_mut().find(|p| p.name() == provider.name()) {
        Some(slot) => *slot = provider,
        None => all.push(provider),
    }
}

fn providers() -> Vec<&'static dyn Provider> {
    PROVIDERS.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
}

/// Everything the providers read about one person. [`load_facts`] loads it for many
/// people at once, so `GET /me/readiness` (one person) and the payout batch (everyone
/// with money available) evaluate the same rows with the same pure functions.
pub struct Facts {
    pub person: Person,
    /// One per provider, in registration order.
    pub parts: Vec<Box<dyn ProviderFacts>>,
}

impl Facts {
    /// The facts a provider read, by their type.
    pub fn part<T: 'static>(&self) -> Option<&T> {
        self.parts.iter().find_map(|p| p.as_any().downcast_ref::<T>())
    }
}

/// The [`Facts`] of `users`. A few people are read by bound ids, each provider's handful
/// of queries for all of them; more than [`crate::db::LOOKUP_CHUNK`] (the batch build's
/// population) in one pass: their ids in a temporary table that each provider's queries
/// join once ([`crate::db::among::with_population`]). `available` gives the available
/// balances when the caller has just summed them (the batch build); otherwise they are
/// summed here.
pub fn load_facts(
    conn: &mut DbConn,
    now: NaiveDateTime,
    users: Vec<User>,
    available: Option<&HashMap<i64, i64>>,
) -> AppResult<Vec<Facts>> {
    let providers = providers();
    if providers.is_empty() {
        return Err(crate::error::AppError::Internal(anyhow::anyhow!("no readiness provider is registered")));
    }
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let summed: HashMap<i64, i64>;
    let available = match available {
        Some(a) => a,
        None => {
            let mut all = HashMap::with_capacity(ids.len());
            for chunk in ids.chunks(crate::db::LOOKUP_CHUNK) {
                all.extend(crate::ledger::service::available_of(conn, Some(chunk))?);
            }
            summed = all;
            &summed
        }
    };
    let people: Vec<Person> = users
        .into_iter()
        .map(|user| Person { available_cents: available.get(&user.id).copied().unwrap_or(0), user })
        .collect();
    let load_all = |conn: &mut DbConn, among: Among<'_>| -> AppResult<Vec<Vec<Box<dyn ProviderFacts>>>> {
        let mut loaded = Vec::with_capacity(providers.len());
        for provider in &providers {
            let facts = provider.load(conn, now, &people, among)?;
            if facts.len() != people.len() {
                return Err(crate::error::AppError::Internal(anyhow::anyhow!(
                    "readiness provider {} read {} facts for {} people",
                    provider.name(),
                    facts.len(),
                    people.len()
                )));
            }
            loaded.push(facts);
        }
        Ok(loaded)
    };
    let loaded = if ids.len() > crate::db::LOOKUP_CHUNK {
        crate::db::among::with_population(conn, &ids, load_all)?
    } else {
        load_all(conn, Among::Ids(&ids))?
    };
    let mut loaded: Vec<_> = loaded.into_iter().map(Vec::into_iter).collect();
    Ok(people
        .into_iter()
        .map(|person| Facts { person, parts: loaded.iter_mut().filter_map(Iterator::next).collect() })
        .collect())
}

/// Every provider's requirements for one person, from their [`Facts`] (no database).
///
/// `can_work` and `can_be_paid` agree with the eligibility rule by construction: the
/// requirements that carry its reasons block exactly when the rule says so (checked over
/// every status in `onboarding::readiness`'s tests).
pub fn evaluate(now: NaiveDateTime, facts: &Facts, payout_minimum_cents: i64) -> Readiness {
    let requirements: Vec<Requirement> =
        facts.parts.iter().flat_map(|part| part.requirements(now, &facts.person, payout_minimum_cents)).collect();
    let clear =
        |b: Blocks| requirements.iter().all(|r| r.status == RequirementStatus::Satisfied || !r.blocks.contains(&b));
    let (can_work, can_be_paid) = (clear(Blocks::Work), clear(Blocks::Payouts));
    let user = &facts.person.user;
    Readiness { user_id: user.id, status: user.status(), can_work, can_be_paid, requirements }
}

/// The codes of the requirements that hold payouts back and are not satisfied.
pub fn payout_blockers(readiness: Readiness) -> Vec<RequirementCode> {
    readiness
        .requirements
        .into_iter()
        .filter(|r| r.status != RequirementStatus::Satisfied && r.blocks.contains(&Blocks::Payouts))
        .map(|r| r.code)
        .collect()
}

pub fn collect(conn: &mut DbConn, now: NaiveDateTime, user: &User, payout_minimum_cents: i64) -> AppResult<Readiness> {
    let facts = load_facts(conn, now, vec![user.clone()], None)?;
    let facts = facts.first().ok_or(crate::error::AppError::NotFound)?;
    Ok(evaluate(now, facts, payout_minimum_cents))
}

/// A person with nothing missing, for the providers' unit tests: an active contributor
/// with a verified email and authorization, a complete profile, a W-9, a usable method
/// and $50 available, on 2026-06-20 at noon; each provider's part built separately.
#[cfg(test)]
pub(crate) mod testing {
    use chrono::{NaiveDate, NaiveDateTime};

    use super::{Facts, Person};
    use crate::auth::model::{User, UserStatus};
    use crate::credentials::readiness::CredentialFacts;
    use crate::onboarding::readiness::OnboardingFacts;
    use crate::payouts::readiness::PayoutFacts;
    use crate::quality::readiness::QualityFacts;
    use crate::tax::readiness::TaxFacts;

    pub fn at(day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 6, day).unwrap().and_hms_opt(12, 0, 0).unwrap()
    }

    pub fn now() -> NaiveDateTime {
        at(20)
    }

    pub fn user(status: UserStatus) -> User {
        User {
            id: 1,
            email: "a@example.com".into(),
            password_hash: None,
            full_name: "A".into(),
            status,
            email_verified_at: Some(at(1)),
            created_at: at(1),
            updated_at: at(1),
            status_reason: None,
            status_until: None,
            work_blocked_since: status.blocks_work().then(|| at(5)),
        }
    }

    pub fn ready_onboarding() -> OnboardingFacts {
        let some = |s: &str| Some(s.to_string());
        OnboardingFacts {
            profile: Some(crate::onboarding::model::Profile {
                legal_name: some("Ana Example"),
                date_of_birth_enc: some("v1:sealed"),
                address_line1: some("12 Main St"),
                city: some("Albany"),
                region: some("NY"),
                postal_code: some("12207"),
                country: some("US"),
                phone: some("+15185550100"),
                ..crate::onboarding::model::Profile::empty(1, at(1))
            }),
            current_authorization: None,
            verified_authorization: None,
            verified: vec![crate::onboarding::eligibility::VerifiedSpan { verified_at: at(2), expires_on: None }],
            released: false,
        }
    }

    pub fn ready_tax() -> TaxFacts {
        TaxFacts {
            tax_profile: Some(crate::tax::model::TaxProfile {
                id: 1,
                user_id: 1,
                version: 1,
                legal_name: "Ana Example".into(),
                business_name: None,
                tax_classification: crate::tax::model::TaxClassification::Individual,
                address_line1: "12 Main St".into(),
                address_line2: None,
                city: "Albany".into(),
                region: "NY".into(),
                postal_code: "12207".into(),
                tin_type: crate::tax::tin::TinType::Ssn,
                tin_enc: "v1:sealed".into(),
                tin_last4: "6789".into(),
                subject_to_backup_withholding: false,
                signature_name: "Ana Example".into(),
                signed_at: at(3),
                signed_ip: None,
                created_at: at(3),
                exempt_payee_code: None,
            }),
            withholding: crate::tax::service::WithholdingStatus {
                required: false,
                reasons: Vec::new(),
                rate: rust_decimal::Decimal::new(24, 2),
                w9_due_by: None,
                tin_validation_due: false,
                exempt_payee: None,
            },
        }
    }

    pub fn ready_payouts() -> PayoutFacts {
        PayoutFacts {
            method: Some(crate::payouts::model::MethodRow {
                id: 1,
                user_id: 1,
                rail: crate::payouts::model::Rail::Paypal,
                status: crate::payouts::model::MethodStatus::Active,
                status_reason: None,
                details_enc: "v1:sealed".into(),
                masked: "a***@example.com".into(),
                usable_from: at(4),
                created_at: at(4),
                replaced_at: None,
                destination_kind: crate::payouts::model::DestinationKind::Email,
            }),
            verified: ready_onboarding().verified,
            released: false,
        }
    }

    /// The parts of one person, as [`super::load_facts`] assembles them (in the order of
    /// `startup::register_capabilities`).
    pub fn facts(
        user: User,
        available_cents: i64,
        onboarding: OnboardingFacts,
        tax: TaxFacts,
        payouts: PayoutFacts,
        quality: QualityFacts,
    ) -> Facts {
        Facts {
            person: Person { user, available_cents },
            parts: vec![
                Box::new(onboarding),
                Box::new(CredentialFacts { credentials: Vec::new() }),
                Box::new(tax),
                Box::new(payouts),
                Box::new(quality),
            ],
        }
    }

    pub fn complete() -> Facts {
        facts(
            user(UserStatus::Active),
            5_000,
            ready_onboarding(),
            ready_tax(),
            ready_payouts(),
            QualityFacts { standing_locks: Vec::new() },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{complete, facts, now, ready_onboarding, ready_payouts, ready_tax, user};
    use super::*;
    use crate::auth::model::UserStatus;
    use crate::quality::readiness::QualityFacts;

    const MINIMUM: i64 = 1_000;

    fn unsatisfied(r: &Readiness) -> Vec<RequirementCode> {
        r.requirements.iter().filter(|r| r.status != RequirementStatus::Satisfied).map(|r| r.code).collect()
    }

    fn no_locks() -> QualityFacts {
        QualityFacts { standing_locks: Vec::new() }
    }

    #[test]
    fn nothing_missing_means_work_and_pay() {
        let f = complete();
        let r = evaluate(now(), &f, MINIMUM);
        assert!(r.can_work && r.can_be_paid, "{:?}", r.requirements);
        assert_eq!(unsatisfied(&r), Vec::<RequirementCode>::new());
        // Every provider spoke: one requirement of each is on the list.
        for code in [
            RequirementCode::AccountInGoodStanding,
            RequirementCode::ProfileComplete,
            RequirementCode::W9OnFile,
            RequirementCode::PayoutMethod,
        ] {
            assert!(r.requirements.iter().any(|q| q.code == code), "{code}");
        }
        assert_eq!(payout_blockers(r), Vec::<RequirementCode>::new());
        // A caller reads a provider's facts back by their type.
        assert!(f.part::<crate::payouts::readiness::PayoutFacts>().is_some_and(|p| p.method.is_some()));
        assert!(f.part::<String>().is_none());
    }

    #[test]
    fn what_blocks_payouts_only_leaves_work_open() {
        let mut tax = ready_tax();
        tax.tax_profile = None;
        let f = facts(user(UserStatus::Active), MINIMUM - 1, ready_onboarding(), tax, ready_payouts(), no_locks());
        let r = evaluate(now(), &f, MINIMUM);
        assert!(r.can_work && !r.can_be_paid);
        assert_eq!(payout_blockers(r), [RequirementCode::W9OnFile, RequirementCode::PayoutMinimumBalance]);
    }

    #[test]
    fn what_blocks_work_blocks_work() {
        let mut onboarding = ready_onboarding();
        onboarding.profile = None;
        let f = facts(user(UserStatus::Active), 5_000, onboarding, ready_tax(), ready_payouts(), no_locks());
        let r = evaluate(now(), &f, MINIMUM);
        assert!(!r.can_work && !r.can_be_paid, "the profile blocks both");
        assert_eq!(unsatisfied(&r), [RequirementCode::ProfileComplete]);
        // A suspension pauses work; earned money is still paid (SPEC §3).
        let f = facts(user(UserStatus::Suspended), 5_000, ready_onboarding(), ready_tax(), ready_payouts(), no_locks());
        let r = evaluate(now(), &f, MINIMUM);
        assert!(!r.can_work && r.can_be_paid, "{:?}", unsatisfied(&r));
    }

    #[test]
    fn informational_requirements_hold_nothing_back() {
        let locks = QualityFacts {
            standing_locks: vec![crate::quality::service::StandingLock {
                domain: "law".into(),
                tier: crate::quality::rules::StandingTier::Entry,
                project_types: vec!["Contracts".into()],
            }],
        };
        let mut tax = ready_tax();
        tax.withholding.w9_due_by = chrono::NaiveDate::from_ymd_opt(2026, 7, 1);
        let f = facts(user(UserStatus::Active), 5_000, ready_onboarding(), tax, ready_payouts(), locks);
        let r = evaluate(now(), &f, MINIMUM);
        assert!(r.can_work && r.can_be_paid);
        assert_eq!(unsatisfied(&r), [RequirementCode::BNoticeW9, RequirementCode::QualityStanding]);
    }

    #[test]
    fn codes_serialize_as_their_text_and_the_schema_lists_them() {
        let texts: Vec<String> = RequirementCode::FIXED.iter().map(|c| c.to_string()).collect();
        assert_eq!(texts.len(), 15);
        assert_eq!(texts.iter().collect::<std::collections::BTreeSet<_>>().len(), 15, "unique: {texts:?}");
        assert_eq!(serde_json::to_value(RequirementCode::W9OnFile).unwrap(), serde_json::json!("w9_on_file"));
        assert_eq!(serde_json::to_value(RequirementCode::Credential(12)).unwrap(), serde_json::json!("credential:12"));
        assert_eq!(RequirementCode::Credential(12).fixed_str(), None);
        let schema = serde_json::to_value(requirement_code_schema()).unwrap();
        assert_eq!(schema["oneOf"][0]["enum"].as_array().map(Vec::len), Some(15), "{schema}");
        assert_eq!(schema["oneOf"][0]["enum"][5], "w9_on_file", "{schema}");
        assert_eq!(schema["oneOf"][1]["pattern"], "^credential:[0-9]+$", "{schema}");
    }
}
