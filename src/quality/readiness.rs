//! The readiness list's standing requirement: shown when a domain's standing tier locks
//! project types, linking to `GET /me/standing`. Informational: the other project types
//! stay open, so it holds nothing back.

use crate::readiness::{Facts, Requirement, RequirementStatus};

pub fn requirements(facts: &Facts) -> Vec<Requirement> {
    facts
        .standing_locks
        .iter()
        .map(|(domain, tier, names)| {
            Requirement::new(
                "quality_standing",
                RequirementStatus::CurrentlyDue,
                format!(
                    "Your standing in {domain} ({}) does not open {}: see {} for your figures and what would change them.",
                    tier.as_str(),
                    names.join(", "),
                    super::service::STANDING_LINK
                ),
            )
            .blocking_nothing()
            .link(super::service::STANDING_LINK)
        })
        .collect()
}
