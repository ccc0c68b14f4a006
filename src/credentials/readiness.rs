//! Credential requirements for the readiness checker.

use chrono::NaiveDateTime;

use super::model::{Credential, CredentialStatus};
use crate::db::among::Among;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::readiness::{Person, Provider, ProviderFacts, Requirement, RequirementCode, RequirementStatus as S};

/// Credentials' readiness provider.
pub struct Credentials;

/// A person's credentials, newest first, at most 200.
pub struct CredentialFacts {
    pub credentials: Vec<Credential>,
}

impl Provider for Credentials {
    fn name(&self) -> &'static str {
        "credentials"
    }

    fn load(
        &self,
        conn: &mut DbConn,
        _now: NaiveDateTime,
        people: &[Person],
        among: Among<'_>,
    ) -> AppResult<Vec<Box<dyn ProviderFacts>>> {
        let mut lists = super::service::lists_of(conn, among)?;
        Ok(people
            .iter()
            .map(|p| {
                Box::new(CredentialFacts { credentials: lists.remove(&p.user.id).unwrap_or_default() })
                    as Box<dyn ProviderFacts>
            })
            .collect())
    }
}

impl ProviderFacts for CredentialFacts {
    fn requirements(&self, now: NaiveDateTime, _person: &Person, _payout_minimum_cents: i64) -> Vec<Requirement> {
        requirements(now, self)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// One line per credential that needs attention: awaiting review, more information
/// requested, expiring within 30 days, or lapsed. These are informational: a missing
/// credential only closes the project types and tests that need it.
pub fn requirements(now: NaiveDateTime, facts: &CredentialFacts) -> Vec<Requirement> {
    let today = now.date();
    let mut out = Vec::new();
    for c in &facts.credentials {
        let code = RequirementCode::Credential(c.id);
        let what = c.describe();
        let r = match c.status() {
            CredentialStatus::PendingReview => {
                Requirement::new(code, S::PendingReview, format!("A reviewer is checking your {what}."))
            }
            CredentialStatus::MoreInfoRequested => Requirement::new(
                code,
                S::CurrentlyDue,
                format!("Upload your {what} again with replaces={} (see GET /me/decisions for why).", c.id),
            ),
            CredentialStatus::Lapsed => Requirement::new(
                code,
                S::PastDue,
                format!("Your {what} expired; upload the renewed document to restore what it gave you."),
            )
            .due_by(c.expires_on),
            CredentialStatus::Verified if c.expires_on.is_some_and(|e| (e - today).num_days() <= 30) => {
                Requirement::new(
                    code,
                    S::CurrentlyDue,
                    format!("Your {what} expires soon; upload the renewed document before it does."),
                )
                .due_by(c.expires_on)
            }
            _ => continue,
        };
        out.push(r.blocking_nothing());
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::readiness::testing::{at, now};

    fn credential(id: i64, status: CredentialStatus, expires_on: Option<NaiveDate>) -> Credential {
        Credential {
            id,
            user_id: 1,
            kind: crate::credentials::model::CredentialKind::ProfessionalLicense,
            level: None,
            domain: "law".into(),
            title: "Bar admission".into(),
            issuer: "NY".into(),
            issued_on: None,
            expires_on,
            file_id: 1,
            status,
            flagged: false,
            flag_reason: None,
            replaces_id: None,
            submitted_at: at(2),
            claimed_by: None,
            claim_expires_at: None,
            decided_by: None,
            decided_at: None,
            reason_code: None,
            note: None,
        }
    }

    #[test]
    fn credentials_needing_attention_are_listed_and_block_nothing() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 7, d);
        let f = CredentialFacts {
            credentials: vec![
                credential(1, CredentialStatus::PendingReview, None),
                credential(2, CredentialStatus::MoreInfoRequested, None),
                credential(3, CredentialStatus::Lapsed, NaiveDate::from_ymd_opt(2026, 6, 1)),
                // 30 days ahead: reminded; 31: not yet.
                credential(4, CredentialStatus::Verified, day(20)),
                credential(5, CredentialStatus::Verified, day(21)),
                credential(6, CredentialStatus::Verified, None),
            ],
        };
        let reqs = requirements(now(), &f);
        let seen: Vec<(RequirementCode, S)> = reqs.iter().map(|r| (r.code, r.status)).collect();
        assert_eq!(
            seen,
            [
                (RequirementCode::Credential(1), S::PendingReview),
                (RequirementCode::Credential(2), S::CurrentlyDue),
                (RequirementCode::Credential(3), S::PastDue),
                (RequirementCode::Credential(4), S::CurrentlyDue),
            ]
        );
        assert!(reqs.iter().all(|r| r.blocks.is_empty()));
        assert_eq!(reqs[3].due_by, day(20));
        assert!(reqs[1].how_to_fix.contains("replaces=2"), "{}", reqs[1].how_to_fix);
    }
}
