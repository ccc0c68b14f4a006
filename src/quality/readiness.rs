//! The readiness list's standing requirement: shown when a domain's standing tier locks
//! project types, linking to `GET /me/standing`. Informational: the other project types
//! stay open, so it holds nothing back.

use crate::readiness::{Facts, Requirement, RequirementStatus};

pub fn requirements(facts: &Facts) -> Vec<Requirement> {
    facts
        .standing_locks
        .iter()
        .map(|lock| {
            Requirement::new(
                "quality_standing",
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
    use crate::quality::service::StandingLock;
    use crate::readiness::testing::complete;

    #[test]
    fn each_locking_domain_is_one_informational_line() {
        let mut f = complete();
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
            assert_eq!((r.code.as_str(), r.status), ("quality_standing", RequirementStatus::CurrentlyDue));
            assert!(r.blocks.is_empty());
            assert_eq!(r.link.as_deref(), Some(crate::quality::service::STANDING_LINK));
        }
        assert!(reqs[1].how_to_fix.contains("medicine (standard) does not open Radiology, Oncology"), "{}", reqs[1].how_to_fix);
    }
}
