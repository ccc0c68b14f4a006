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
