use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{b_notices, tax_profiles};

crate::text_enum! {
    pub enum TaxClassification {
        /// Individual / sole proprietor / single-member LLC.
        Individual = "individual",
        CCorporation = "c_corporation",
        SCorporation = "s_corporation",
        Partnership = "partnership",
        TrustEstate = "trust_estate",
        LlcC = "llc_c",
        LlcS = "llc_s",
        LlcP = "llc_p",
        Other = "other",
    }
}

impl TaxClassification {
    /// Corporations, partnerships and LLCs taxed as either give their EIN (Instructions
    /// for Form W-9, "What Name and Number To Give the Requester": items 8 to 15); an
    /// individual, sole proprietor or single-member LLC disregarded as an entity gives
    /// the owner's SSN or ITIN (or the business's EIN). Trusts, estates and "other"
    /// entities are left to the payee (a grantor trust gives the grantor's number).
    pub fn needs_ein(self) -> bool {
        matches!(
            self,
            Self::CCorporation | Self::SCorporation | Self::Partnership | Self::LlcC | Self::LlcS | Self::LlcP
        )
    }

    /// A corporation, including an LLC taxed as a C or S corporation: payments to it are
    /// not reported on Form 1099-NEC (Instructions for Forms 1099-MISC and 1099-NEC,
    /// "Payments to corporations"), so no backup withholding either (IRC §3406(b)(3):
    /// only reportable payments are withheld on).
    pub fn corporation(self) -> bool {
        matches!(self, Self::CCorporation | Self::SCorporation | Self::LlcC | Self::LlcS)
    }
}

crate::text_enum! {
    /// W-9 line 4, "Exempt payee code (if any)": 1 to 13, as listed in the Instructions
    /// for Form W-9 ("Exempt payee code"). Stored as its digits; an unknown stored value
    /// is an error, never "not exempt".
    pub enum ExemptPayeeCode {
        C1 = "1",
        C2 = "2",
        C3 = "3",
        C4 = "4",
        C5 = "5",
        C6 = "6",
        C7 = "7",
        C8 = "8",
        C9 = "9",
        C10 = "10",
        C11 = "11",
        C12 = "12",
        C13 = "13",
    }
}

impl ExemptPayeeCode {
    /// A code as a person writes it on the form: `5`, ` 05 ` (1 to 13).
    pub fn from_input(s: &str) -> Option<Self> {
        let n: u8 = s.trim().parse().ok()?;
        Self::parse(&n.to_string())
    }

    pub fn as_string(self) -> String {
        self.as_str().to_string()
    }

    /// The W-9 instructions' exemption chart: for "payments over $600 required to be
    /// reported" (nonemployee compensation) the exempt payees are generally 1 through 5
    /// (tax-exempt organizations, the United States, states, foreign governments,
    /// corporations); codes 6 to 13 exempt other kinds of payment only.
    pub fn exempts_nonemployee_compensation(self) -> bool {
        matches!(self, Self::C1 | Self::C2 | Self::C3 | Self::C4 | Self::C5)
    }
}

/// Why a payee's payments are not reported on Form 1099-NEC (and so never withheld
/// on), from the W-9's classification and exempt payee code; `None`: reportable.
pub fn reporting_exemption(classification: Option<TaxClassification>, code: Option<ExemptPayeeCode>) -> Option<String> {
    if let Some(c) = code.filter(|c| c.exempts_nonemployee_compensation()) {
        return Some(format!("exempt payee code {} (Form W-9, line 4)", c.as_str()));
    }
    classification
        .filter(|c| c.corporation())
        .map(|_| "payments to a corporation are not reported on Form 1099-NEC".to_string())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tax_profiles)]
pub struct TaxProfile {
    pub id: i64,
    pub user_id: i64,
    pub version: i32,
    pub legal_name: String,
    pub business_name: Option<String>,
    pub tax_classification: TaxClassification,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub tin_type: super::tin::TinType,
    /// AES-256-GCM ciphertext of the nine digits.
    pub tin_enc: String,
    pub tin_last4: String,
    pub subject_to_backup_withholding: bool,
    pub signature_name: String,
    pub signed_at: NaiveDateTime,
    pub signed_ip: Option<String>,
    pub created_at: NaiveDateTime,
    pub exempt_payee_code: Option<ExemptPayeeCode>,
}

impl TaxProfile {
    /// The TIN as every response shows it: `***-**-1234` (SSN, ITIN), `**-***1234` (EIN).
    pub fn masked_tin(&self) -> String {
        super::tin::mask(self.tin_type, &self.tin_last4)
    }

    /// [`reporting_exemption`] of this W-9.
    pub fn reporting_exemption(&self) -> Option<String> {
        reporting_exemption(Some(self.tax_classification), self.exempt_payee_code)
    }
}

/// What a payment file names of a payee's W-9 (Wise receivers, NACHA's entry class):
/// the columns an export reads, 500 payees a page, without the TIN's ciphertext, the
/// signature or the timestamps of the whole row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tax_profiles)]
pub struct W9Payee {
    pub user_id: i64,
    pub legal_name: String,
    pub business_name: Option<String>,
    pub tax_classification: TaxClassification,
    pub tin_type: super::tin::TinType,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub region: String,
    pub postal_code: String,
}

impl W9Payee {
    /// Whether the W-9 names a business: an EIN, an entity's tax classification
    /// (anything but individual / sole proprietor / single-member LLC), or a business
    /// name on line 2. Such a payee is paid as a business: Wise's institution
    /// receivers, NACHA's CCD entries (docs/payouts.md).
    pub fn names_a_business(&self) -> bool {
        self.tin_type == super::tin::TinType::Ein
            || self.tax_classification != TaxClassification::Individual
            || self.business_name.as_deref().is_some_and(|b| !b.trim().is_empty())
    }
}

#[derive(Insertable)]
#[diesel(table_name = tax_profiles)]
pub struct NewTaxProfile<'a> {
    pub user_id: i64,
    pub version: i32,
    pub legal_name: &'a str,
    pub business_name: Option<&'a str>,
    pub tax_classification: TaxClassification,
    pub address_line1: &'a str,
    pub address_line2: Option<&'a str>,
    pub city: &'a str,
    pub region: &'a str,
    pub postal_code: &'a str,
    pub tin_type: super::tin::TinType,
    pub tin_enc: &'a str,
    pub tin_last4: &'a str,
    pub subject_to_backup_withholding: bool,
    pub signature_name: &'a str,
    pub signed_at: NaiveDateTime,
    pub signed_ip: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub exempt_payee_code: Option<ExemptPayeeCode>,
}

crate::text_enum! {
    /// Which IRS B-notice (Pub 1281): a second one is received within three calendar
    /// years of a first for the same payee.
    pub enum NoticeKind {
        First = "first",
        Second = "second",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = b_notices)]
pub struct BNotice {
    pub id: i64,
    pub user_id: i64,
    pub notice: NoticeKind,
    pub received_on: NaiveDate,
    pub note: String,
    pub recorded_by: i64,
    #[serde(with = "crate::clock::utc")]
    pub recorded_at: NaiveDateTime,
    #[serde(with = "crate::clock::utc_opt")]
    pub cleared_at: Option<NaiveDateTime>,
    pub cleared_by: Option<i64>,
    pub cleared_reason: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = b_notices)]
pub struct NewBNotice<'a> {
    pub user_id: i64,
    pub notice: NoticeKind,
    pub received_on: NaiveDate,
    pub note: &'a str,
    pub recorded_by: i64,
    pub recorded_at: NaiveDateTime,
}

#[cfg(test)]
mod tests {
    use super::TaxClassification::*;
    use super::*;

    #[test]
    fn entities_give_an_ein() {
        for c in [CCorporation, SCorporation, Partnership, LlcC, LlcS, LlcP] {
            assert!(c.needs_ein(), "{c:?}");
        }
        for c in [Individual, TrustEstate, Other] {
            assert!(!c.needs_ein(), "{c:?}");
        }
    }

    #[test]
    fn exempt_payees_follow_the_w9_chart() {
        let code = |s| ExemptPayeeCode::from_input(s);
        assert_eq!(code("0"), None);
        assert_eq!(code("14"), None);
        assert_eq!(code("x"), None);
        assert!(code("1").unwrap().exempts_nonemployee_compensation());
        assert!(code("5").unwrap().exempts_nonemployee_compensation());
        assert!(!code("6").unwrap().exempts_nonemployee_compensation());
        assert!(!code("13").unwrap().exempts_nonemployee_compensation());
        assert!(reporting_exemption(Some(Individual), None).is_none());
        assert!(reporting_exemption(Some(Partnership), None).is_none(), "partnerships get a 1099-NEC");
        assert!(reporting_exemption(Some(LlcP), None).is_none());
        assert!(reporting_exemption(Some(CCorporation), None).is_some());
        assert!(reporting_exemption(Some(LlcS), None).is_some());
        assert!(reporting_exemption(Some(Other), code("2")).is_some(), "the United States");
        assert!(
            reporting_exemption(Some(Other), code("7")).is_none(),
            "futures commission merchants: not for services"
        );
    }
}
