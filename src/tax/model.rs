use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{b_notices, tax_profiles};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaxClassification {
    /// Individual / sole proprietor / single-member LLC.
    Individual,
    CCorporation,
    SCorporation,
    Partnership,
    TrustEstate,
    LlcC,
    LlcS,
    LlcP,
    Other,
}

impl TaxClassification {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Individual => "individual",
            Self::CCorporation => "c_corporation",
            Self::SCorporation => "s_corporation",
            Self::Partnership => "partnership",
            Self::TrustEstate => "trust_estate",
            Self::LlcC => "llc_c",
            Self::LlcS => "llc_s",
            Self::LlcP => "llc_p",
            Self::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tax_profiles)]
pub struct TaxProfile {
    pub id: i64,
    pub user_id: i64,
    pub version: i32,
    pub legal_name: String,
    pub business_name: Option<String>,
    pub tax_classification: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub tin_type: String,
    /// AES-256-GCM ciphertext of the nine digits.
    pub tin_enc: String,
    pub tin_last4: String,
    pub subject_to_backup_withholding: bool,
    pub signature_name: String,
    pub signed_at: NaiveDateTime,
    pub signed_ip: Option<String>,
    pub created_at: NaiveDateTime,
}

impl TaxProfile {
    /// Whether the W-9 names a business: an EIN, an entity's tax classification
    /// (anything but individual / sole proprietor / single-member LLC), or a business
    /// name on line 2. Such a payee is paid as a business: Wise's institution
    /// receivers, NACHA's CCD entries (docs/payouts.md).
    pub fn names_a_business(&self) -> bool {
        self.tin_type == "ein"
            || self.tax_classification != TaxClassification::Individual.as_str()
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
    pub tax_classification: &'a str,
    pub address_line1: &'a str,
    pub address_line2: Option<&'a str>,
    pub city: &'a str,
    pub region: &'a str,
    pub postal_code: &'a str,
    pub tin_type: &'a str,
    pub tin_enc: &'a str,
    pub tin_last4: &'a str,
    pub subject_to_backup_withholding: bool,
    pub signature_name: &'a str,
    pub signed_at: NaiveDateTime,
    pub signed_ip: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = b_notices)]
pub struct BNotice {
    pub id: i64,
    pub user_id: i64,
    /// `first` or `second`.
    pub notice: String,
    pub received_on: NaiveDate,
    pub note: String,
    pub recorded_by: i64,
    pub recorded_at: NaiveDateTime,
    pub cleared_at: Option<NaiveDateTime>,
    pub cleared_by: Option<i64>,
    pub cleared_reason: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = b_notices)]
pub struct NewBNotice<'a> {
    pub user_id: i64,
    pub notice: &'a str,
    pub received_on: NaiveDate,
    pub note: &'a str,
    pub recorded_by: i64,
    pub recorded_at: NaiveDateTime,
}
