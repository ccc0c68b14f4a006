//! The readiness list's standing requirement: shown when a domain's standing tier locks
//! project types, linking to `GET /me/standing`. Informational: the other project types
//! stay open, so it holds nothing back.

use chrono::NaiveDateTime;

use super::service::StandingLock;
use crate::db::among::Among;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::readiness::{Person, Provider, ProviderFacts, Requirement, RequirementCode, RequirementStatus};

/// Quality's readiness provider.
pub struct Quality;

/// The domains whose standing tier keeps project types locked for one person.
pub struct QualityFacts {
    pub standing_locks: Vec<StandingLock>,
}

impl Provider for Quality {
    fn name(&self) -> &'static str {
        "quality"
    }

    fn load(
        &self,
        conn: &mut DbConn,
        _now: NaiveDateTime,
        people: &[Person],
        among: Among<'_>,
    ) -> AppResult<Vec<Box<dyn ProviderFacts>>> {
        let mut locks = super::service::locks_of(conn, among)?;
        Ok(people
            .iter()
            .map(|p| {
                Box::new(QualityFacts { standing_locks: locks.remove(&p.user.id).unwrap_or_default() })
                    as Box<dyn ProviderFacts>
            })
            .collect())
    }
}

impl ProviderFacts for QualityFacts {
    fn requirements(&self, _now: NaiveDateTime, _person: &Person, _payout_minimum_cents: i64) -> Vec<Requirement> {
        requirements(self)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

pub fn requirements(facts: &QualityFacts) -> Vec<Requirement> {
    facts
        .standing_locks
        .iter()
        .map(|lock| {
            Requirement::new(
                RequirementCode::QualityStanding,
                RequirementStatus::CurrentlyDue,
                format!(
                    "Your standing in {} ({}) does not open {}: see {} for your figures and what would change them.",
                    lock.domain,
                    lock.tier.as_str(),
                    lock.project_types.join(", "),
                    super::service::STANDING_LINK
                ),
            )
            .blocking_nothing()
            .link(super::service::STANDING_LINK)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::rules::StandingTier;

    #[test]
    fn each_locking_domain_is_one_informational_line() {
        let mut f = QualityFacts { standing_locks: Vec::new() };
        assert!(requirements(&f).is_empty());
        f.standing_locks = vec![
            StandingLock { domain: "law".into(), tier: StandingTier::Entry, project_types: vec!["Contracts".into()] },
            StandingLock {
                domain: "medicine".into(),
                tier: StandingTier::Standard,
                project_types: vec!["Radiology".into(), "Oncology".into()],
            },
        ];
        let reqs = requirements(&f);
        assert_eq!(reqs.len(), 2);
        for r in &reqs {
            assert_eq!((r.code, r.status), (RequirementCode::QualityStanding, RequirementStatus::CurrentlyDue));
            assert!(r.blocks.is_empty());
            assert_eq!(r.link.as_deref(), Some(crate::quality::service::STANDING_LINK));
        }
        assert!(
            reqs[1].how_to_fix.contains("medicine (standard) does not open Radiology, Oncology"),
            "{}",
            reqs[1].how_to_fix
        );
    }
}
