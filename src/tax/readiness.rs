//! Tax requirements for the readiness checker.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::model::TaxProfile;
use super::service::WithholdingStatus;
use crate::db::among::Among;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::readiness::{Blocks, Person, Provider, ProviderFacts, Requirement, RequirementCode, RequirementStatus as S};

/// Tax's readiness provider.
pub struct Tax;

/// What tax reads about one person (the batch build reads the withholding back).
pub struct TaxFacts {
    pub tax_profile: Option<TaxProfile>,
    pub withholding: WithholdingStatus,
}

impl Provider for Tax {
    fn name(&self) -> &'static str {
        "tax"
    }

    fn load(
        &self,
        conn: &mut DbConn,
        now: NaiveDateTime,
        people: &[Person],
        among: Among<'_>,
    ) -> AppResult<Vec<Box<dyn ProviderFacts>>> {
        // Tax still reads by chunks of bound ids, also in a population pass (joining the
        // population's table, as the other providers do, is the next step).
        let (mut profiles, mut withholding) = (HashMap::new(), HashMap::new());
        for chunk in among.ids().chunks(crate::db::LOOKUP_CHUNK) {
            let some = super::service::current_profiles_of(conn, chunk)?;
            withholding.extend(super::service::withholding_statuses(conn, chunk, &some, now.date())?);
            profiles.extend(some);
        }
        people
            .iter()
            .map(|p| {
                let id = p.user.id;
                let withholding = withholding
                    .remove(&id)
                    .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no withholding status for user {id}")))?;
                Ok(Box::new(TaxFacts { tax_profile: profiles.remove(&id), withholding }) as Box<dyn ProviderFacts>)
            })
            .collect()
    }
}

impl ProviderFacts for TaxFacts {
    fn requirements(&self, _now: NaiveDateTime, _person: &Person, _payout_minimum_cents: i64) -> Vec<Requirement> {
        requirements(self)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

pub fn requirements(facts: &TaxFacts) -> Vec<Requirement> {
    let mut out = Vec::new();
    let mut w9 = if facts.tax_profile.is_some() {
        Requirement::satisfied(RequirementCode::W9OnFile)
    } else {
        Requirement::new(
            RequirementCode::W9OnFile,
            S::CurrentlyDue,
            "Give your tax details (Form W-9) with PUT /me/tax-profile; payouts wait for it.",
        )
    };
    w9.blocks = vec![Blocks::Payouts];
    out.push(w9);
    let status = &facts.withholding;
    // A first B-notice (Pub 1281): a corrected, certified W-9 is due before withholding starts.
    if let Some(due) = status.w9_due_by {
        out.push(
            Requirement::new(
                RequirementCode::BNoticeW9,
                S::CurrentlyDue,
                format!(
                    "The IRS told us the name and TIN on your W-9 do not match its records. Sign a corrected W-9 \
                     (PUT /me/tax-profile) before {due}, or {}% of payouts will be withheld for the IRS.",
                    (status.rate * rust_decimal::Decimal::ONE_HUNDRED).normalize()
                ),
            )
            .due_by(Some(due))
            .blocking_nothing(),
        );
    }
    // A second B-notice: only the SSA or the IRS can end the withholding.
    if status.tin_validation_due {
        out.push(
            Requirement::new(
                RequirementCode::BNoticeTinValidation,
                S::PastDue,
                "The IRS told us twice that your name and TIN do not match its records. Send us the Social Security \
                 Administration's confirmation (Form SSA-7028 or your card) or an IRS letter (e.g. Letter 147C) \
                 with your name and TIN; withholding continues until then.",
            )
            .blocking_nothing(),
        );
    }
    if status.required {
        let why = status.reasons_text().replace('_', " ");
        out.push(
            Requirement::new(
                RequirementCode::BackupWithholding,
                S::CurrentlyDue,
                format!(
                    "{}% of the payouts Gatehouse reports to the IRS (not those a payment service reports on Form 1099-K) \
                     is withheld for the IRS ({why}). A correct, certified W-9 ends it unless the IRS sent a second notice.",
                    (status.rate * rust_decimal::Decimal::ONE_HUNDRED).normalize()
                ),
            )
            .blocking_nothing(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readiness::testing::ready_tax as complete;

    #[test]
    fn the_w9_blocks_payouts_and_notices_inform() {
        let f = complete();
        let reqs = requirements(&f);
        assert_eq!(reqs.len(), 1);
        assert_eq!((reqs[0].code, reqs[0].status), (RequirementCode::W9OnFile, S::Satisfied));

        let mut f = complete();
        f.tax_profile = None;
        f.withholding.w9_due_by = chrono::NaiveDate::from_ymd_opt(2026, 7, 1);
        f.withholding.tin_validation_due = true;
        f.withholding.required = true;
        f.withholding.reasons = vec![crate::tax::service::WithholdingReason::SecondBNotice];
        let reqs = requirements(&f);
        let seen: Vec<(RequirementCode, S, Vec<Blocks>)> =
            reqs.iter().map(|r| (r.code, r.status, r.blocks.clone())).collect();
        assert_eq!(
            seen,
            [
                (RequirementCode::W9OnFile, S::CurrentlyDue, vec![Blocks::Payouts]),
                (RequirementCode::BNoticeW9, S::CurrentlyDue, vec![]),
                (RequirementCode::BNoticeTinValidation, S::PastDue, vec![]),
                (RequirementCode::BackupWithholding, S::CurrentlyDue, vec![]),
            ]
        );
        assert!(reqs[1].how_to_fix.contains("24%"), "{}", reqs[1].how_to_fix);
        assert_eq!(reqs[1].due_by, chrono::NaiveDate::from_ymd_opt(2026, 7, 1));
        assert!(reqs[3].how_to_fix.contains("(second b notice)"), "{}", reqs[3].how_to_fix);
    }
}
