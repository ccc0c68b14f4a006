//! Tax requirements for the readiness checker.

use crate::readiness::{Blocks, Facts, Requirement, RequirementStatus as S};

pub fn requirements(facts: &Facts) -> Vec<Requirement> {
    let mut out = Vec::new();
    let mut w9 = if facts.tax_profile.is_some() {
        Requirement::satisfied("w9_on_file")
    } else {
        Requirement::new(
            "w9_on_file",
            S::CurrentlyDue,
            "Give your tax details (Form W-9) with PUT /me/tax-profile; payouts wait for it.",
        )
    };
    w9.blocks = vec![Blocks::Payouts];
    out.push(w9);
    let status = &facts.withholding;
    if status.required {
        let why = status.reasons.join(", ").replace('_', " ");
        out.push(
            Requirement::new(
                "backup_withholding",
                S::CurrentlyDue,
                format!(
                    "{}% of payouts is withheld for the IRS ({why}). A correct, certified W-9 ends it unless the IRS sent a second notice.",
                    (status.rate * rust_decimal::Decimal::ONE_HUNDRED).normalize()
                ),
            )
            .blocking_nothing(),
        );
    }
    out
}
