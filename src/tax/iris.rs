//! The 1099-NEC filing CSVs as pure functions: the columns are data (a header and a
//! field key per column, `templates/tax/iris_1099nec.csv`), each field key a closed set
//! ([`Field`]) whose value [`value`] computes from one issued return and the payer's
//! configuration. docs/tax.md gives the source of every column and rule.

use crate::config::TaxConfig;
use crate::tax::model::TaxProfile;
use crate::tax::tin;
use crate::tax::year_end::dollars;

/// One return to write: an issued form version and the W-9 it was issued with.
#[derive(Debug, Clone)]
pub struct Return {
    pub tax_year: i64,
    pub user_id: i64,
    pub version: i32,
    pub corrected: bool,
    pub reportable_cents: i64,
    pub excluded_cents: i64,
    pub federal_withheld_cents: i64,
    pub profile: Option<TaxProfile>,
    /// The recipient's nine TIN digits (empty without a W-9).
    pub tin_digits: String,
    /// The IRS notified the payer twice within three calendar years that the name and
    /// TIN do not match (a second B-notice): the form's "2nd TIN not." box.
    pub second_tin_notice: bool,
}

/// What a column carries. An unknown key in a mapping file is an error, never a blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    TaxYear,
    Corrected,
    Version,
    PayeeId,
    PayerTinType,
    PayerTin,
    PayerName,
    PayerAddressLine1,
    PayerAddressLine2,
    PayerCity,
    PayerState,
    PayerZip,
    PayerCountry,
    PayerPhone,
    RecipientTinType,
    /// Nine digits, no dashes (IRIS).
    RecipientTin,
    /// `123-45-6789` / `12-3456789` (the plain CSV, for people).
    RecipientTinFormatted,
    RecipientFirstName,
    RecipientMiddleName,
    RecipientLastName,
    RecipientSuffix,
    RecipientBusinessName,
    RecipientNameLine2,
    /// The W-9 legal name as written (the plain CSV).
    RecipientName,
    RecipientAddressLine1,
    RecipientAddressLine2,
    /// Both address lines in one (the plain CSV).
    RecipientAddress,
    RecipientCity,
    RecipientState,
    RecipientZip,
    RecipientCountry,
    AccountNumber,
    OfficeCode,
    SecondTinNotice,
    FatcaFilingRequirement,
    Box1NonemployeeCompensation,
    Box2DirectSales,
    Box3GoldenParachute,
    /// Blank when nothing was withheld.
    Box4FederalTaxWithheld,
    /// Always the amount, `0.00` included (the plain CSV).
    FederalTaxWithheld,
    CombinedFederalState,
    StateTaxWithheld,
    State,
    PayerStateNumber,
    StateIncome,
    Excluded1099k,
}

const FIELDS: &[(&str, Field)] = &[
    ("tax_year", Field::TaxYear),
    ("corrected", Field::Corrected),
    ("version", Field::Version),
    ("payee_id", Field::PayeeId),
    ("payer_tin_type", Field::PayerTinType),
    ("payer_tin", Field::PayerTin),
    ("payer_name", Field::PayerName),
    ("payer_address_line1", Field::PayerAddressLine1),
    ("payer_address_line2", Field::PayerAddressLine2),
    ("payer_city", Field::PayerCity),
    ("payer_state", Field::PayerState),
    ("payer_zip", Field::PayerZip),
    ("payer_country", Field::PayerCountry),
    ("payer_phone", Field::PayerPhone),
    ("recipient_tin_type", Field::RecipientTinType),
    ("recipient_tin", Field::RecipientTin),
    ("recipient_tin_formatted", Field::RecipientTinFormatted),
    ("recipient_first_name", Field::RecipientFirstName),
    ("recipient_middle_name", Field::RecipientMiddleName),
    ("recipient_last_name", Field::RecipientLastName),
    ("recipient_suffix", Field::RecipientSuffix),
    ("recipient_business_name", Field::RecipientBusinessName),
    ("recipient_name_line2", Field::RecipientNameLine2),
    ("recipient_name", Field::RecipientName),
    ("recipient_address_line1", Field::RecipientAddressLine1),
    ("recipient_address_line2", Field::RecipientAddressLine2),
    ("recipient_address", Field::RecipientAddress),
    ("recipient_city", Field::RecipientCity),
    ("recipient_state", Field::RecipientState),
    ("recipient_zip", Field::RecipientZip),
    ("recipient_country", Field::RecipientCountry),
    ("account_number", Field::AccountNumber),
    ("office_code", Field::OfficeCode),
    ("second_tin_notice", Field::SecondTinNotice),
    ("fatca_filing_requirement", Field::FatcaFilingRequirement),
    ("box1_nonemployee_compensation", Field::Box1NonemployeeCompensation),
    ("box2_direct_sales", Field::Box2DirectSales),
    ("box3_golden_parachute", Field::Box3GoldenParachute),
    ("box4_federal_tax_withheld", Field::Box4FederalTaxWithheld),
    ("federal_tax_withheld", Field::FederalTaxWithheld),
    ("combined_federal_state", Field::CombinedFederalState),
    ("box5_state_tax_withheld", Field::StateTaxWithheld),
    ("box6_state", Field::State),
    ("box6_payer_state_number", Field::PayerStateNumber),
    ("box7_state_income", Field::StateIncome),
    ("excluded_1099k", Field::Excluded1099k),
];

impl Field {
    pub fn parse(key: &str) -> Option<Self> {
        FIELDS.iter().find(|(k, _)| *k == key).map(|(_, f)| *f)
    }
}

/// A column: its header text and what it carries.
pub type Column = (String, Field);

/// Reads a mapping file (`header,field` rows after a title row). Every key must be
/// known and every header present.
pub fn parse_mapping(text: &str) -> Result<Vec<Column>, String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("row {}: {e}", i + 2))?;
        let header = record.get(0).unwrap_or_default().to_string();
        let key = record.get(1).unwrap_or_default();
        let field = Field::parse(key).ok_or_else(|| format!("row {}: unknown field key {key:?}", i + 2))?;
        if header.is_empty() {
            return Err(format!("row {}: empty header", i + 2));
        }
        out.push((header, field));
    }
    if out.is_empty() {
        return Err("no columns".into());
    }
    Ok(out)
}

/// A person's name in the parts IRIS asks of individuals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonName {
    pub first: String,
    pub middle: String,
    pub last: String,
    pub suffix: String,
}

const SUFFIXES: &[&str] = &["JR", "SR", "II", "III", "IV", "V"];

/// Splits a legal name written in one field: the last word is the last name (after a
/// generational suffix, if any), the first word the first name, the words between the
/// middle name. A one-word name is a last name.
pub fn split_name(full: &str) -> PersonName {
    let mut words: Vec<&str> = full.split_whitespace().collect();
    let mut suffix = String::new();
    if words.len() > 2 {
        let last = words[words.len() - 1].trim_matches(|c| c == '.' || c == ',');
        if SUFFIXES.contains(&last.to_ascii_uppercase().as_str()) {
            suffix = last.to_string();
            words.pop();
        }
    }
    let clean = |w: &str| w.trim_end_matches(',').to_string();
    match words.as_slice() {
        [] => PersonName::default(),
        [only] => PersonName { last: clean(only), suffix, ..Default::default() },
        [first, middle @ .., last] => PersonName {
            first: clean(first),
            middle: middle.iter().map(|w| clean(w)).collect::<Vec<_>>().join(" "),
            last: clean(last),
            suffix,
        },
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The value of `field` for one return. An individual (the W-9's classification
/// individual / sole proprietor / single-member LLC) has their name split, and a
/// business name on line 2; an entity has its name in the business name.
pub fn value(cfg: &TaxConfig, r: &Return, field: Field) -> String {
    let p = r.profile.as_ref();
    let s = |f: fn(&TaxProfile) -> String| p.map(f).unwrap_or_default();
    let individual = p.is_some_and(|p| p.tax_classification == super::model::TaxClassification::Individual);
    let person =
        || if individual { p.map(|p| split_name(&p.legal_name)).unwrap_or_default() } else { PersonName::default() };
    let state_id = p.and_then(|p| cfg.payer_state_ids.get(&p.region.to_ascii_uppercase()));
    let kind = p.map(|p| p.tin_type);
    match field {
        Field::TaxYear => r.tax_year.to_string(),
        Field::Corrected => if r.corrected { "X" } else { "" }.into(),
        Field::Version => r.version.to_string(),
        Field::PayeeId => r.user_id.to_string(),
        Field::PayerTinType => "EIN".into(),
        Field::PayerTin => digits(&cfg.payer_tin),
        Field::PayerName => cfg.payer_name.clone(),
        Field::PayerAddressLine1 => cfg.payer_address.clone(),
        Field::PayerAddressLine2 => cfg.payer_address_line2.clone(),
        Field::PayerCity => cfg.payer_city.clone(),
        Field::PayerState => cfg.payer_state.clone(),
        Field::PayerZip => digits(&cfg.payer_zip),
        Field::PayerCountry => cfg.payer_country.clone(),
        Field::PayerPhone => digits(&cfg.payer_phone),
        Field::RecipientTinType => kind.map(|k| k.as_str().to_ascii_uppercase()).unwrap_or_default(),
        Field::RecipientTin => r.tin_digits.clone(),
        Field::RecipientTinFormatted => kind.map(|k| tin::format_full(k, &r.tin_digits)).unwrap_or_default(),
        Field::RecipientFirstName => person().first,
        Field::RecipientMiddleName => person().middle,
        Field::RecipientLastName => person().last,
        Field::RecipientSuffix => person().suffix,
        Field::RecipientBusinessName => {
            if individual {
                String::new()
            } else {
                s(|p| p.legal_name.clone())
            }
        }
        Field::RecipientNameLine2 => s(|p| p.business_name.clone().unwrap_or_default()),
        Field::RecipientName => s(|p| p.legal_name.clone()),
        Field::RecipientAddressLine1 => s(|p| p.address_line1.clone()),
        Field::RecipientAddressLine2 => s(|p| p.address_line2.clone().unwrap_or_default()),
        Field::RecipientAddress => s(|p| {
            [Some(p.address_line1.clone()), p.address_line2.clone()].into_iter().flatten().collect::<Vec<_>>().join(" ")
        }),
        Field::RecipientCity => s(|p| p.city.clone()),
        Field::RecipientState => s(|p| p.region.clone()),
        Field::RecipientZip => s(|p| digits(&p.postal_code)),
        Field::RecipientCountry => p.map(|_| "US".to_string()).unwrap_or_default(),
        Field::AccountNumber => format!("GH{}-{}", r.user_id, r.tax_year),
        Field::OfficeCode | Field::FatcaFilingRequirement => String::new(),
        Field::SecondTinNotice => if r.second_tin_notice { "X" } else { "" }.into(),
        Field::Box1NonemployeeCompensation => dollars(r.reportable_cents),
        Field::Box2DirectSales | Field::Box3GoldenParachute => String::new(),
        Field::Box4FederalTaxWithheld => {
            if r.federal_withheld_cents == 0 {
                String::new()
            } else {
                dollars(r.federal_withheld_cents)
            }
        }
        Field::FederalTaxWithheld => dollars(r.federal_withheld_cents),
        // Gatehouse withholds no state tax and does not file through the combined
        // federal/state program (docs/tax.md).
        Field::CombinedFederalState | Field::StateTaxWithheld => String::new(),
        Field::State => state_id.map(|_| s(|p| p.region.to_ascii_uppercase())).unwrap_or_default(),
        Field::PayerStateNumber => state_id.cloned().unwrap_or_default(),
        Field::StateIncome => state_id.map(|_| dollars(r.reportable_cents)).unwrap_or_default(),
        Field::Excluded1099k => dollars(r.excluded_cents),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(classification: &str, tin_type: &str, legal_name: &str, business: Option<&str>) -> TaxProfile {
        let now = chrono::NaiveDate::from_ymd_opt(2026, 2, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        TaxProfile {
            id: 1,
            user_id: 7,
            version: 1,
            legal_name: legal_name.into(),
            business_name: business.map(Into::into),
            tax_classification: crate::tax::model::TaxClassification::parse(classification).unwrap(),
            address_line1: "1 Elm St".into(),
            address_line2: Some("Apt 2".into()),
            city: "Austin".into(),
            region: "TX".into(),
            postal_code: "78701-1234".into(),
            tin_type: tin::TinType::parse(tin_type).unwrap(),
            tin_enc: String::new(),
            tin_last4: "6789".into(),
            subject_to_backup_withholding: false,
            signature_name: legal_name.into(),
            signed_at: now,
            signed_ip: None,
            created_at: now,
            exempt_payee_code: None,
        }
    }

    fn ret(p: TaxProfile, withheld: i64) -> Return {
        Return {
            tax_year: 2026,
            user_id: 7,
            version: 1,
            corrected: false,
            reportable_cents: 200_000,
            excluded_cents: 0,
            federal_withheld_cents: withheld,
            profile: Some(p),
            tin_digits: "123456789".into(),
            second_tin_notice: false,
        }
    }

    fn cfg() -> TaxConfig {
        TaxConfig {
            payer_name: "Gatehouse Marketplace".into(),
            payer_tin: "12-3456789".into(),
            payer_address: "100 Market St".into(),
            payer_city: "Albany".into(),
            payer_state: "NY".into(),
            payer_zip: "12207".into(),
            payer_address_line2: "Suite 5".into(),
            payer_country: "US".into(),
            payer_phone: "(518) 555-0100".into(),
            payer_state_ids: [("TX".to_string(), "32-1234567".to_string())].into_iter().collect(),
            iris_returns_per_file: 100,
            iris_template: "x".into(),
        }
    }

    #[test]
    fn names_split_as_iris_asks_of_individuals() {
        let n = split_name("Ana María O'Neil");
        assert_eq!((n.first.as_str(), n.middle.as_str(), n.last.as_str()), ("Ana", "María", "O'Neil"));
        let n = split_name("Robert James Smith Jr.");
        assert_eq!((n.first.as_str(), n.last.as_str(), n.suffix.as_str()), ("Robert", "Smith", "Jr"));
        let n = split_name("Casey  Cross");
        assert_eq!((n.first.as_str(), n.middle.as_str(), n.last.as_str()), ("Casey", "", "Cross"));
        assert_eq!(split_name("Madonna").last, "Madonna");
        assert_eq!(split_name("Henry V").last, "V", "two words: no suffix taken");
        assert_eq!(split_name(""), PersonName::default());
    }

    #[test]
    fn tins_are_digits_and_box_4_is_blank_without_withholding() {
        let r = ret(profile("individual", "ssn", "Ana Example", None), 0);
        assert_eq!(value(&cfg(), &r, Field::RecipientTin), "123456789");
        assert_eq!(value(&cfg(), &r, Field::PayerTin), "123456789");
        assert_eq!(value(&cfg(), &r, Field::RecipientTinType), "SSN");
        assert_eq!(value(&cfg(), &r, Field::RecipientTinFormatted), "123-45-6789");
        assert_eq!(value(&cfg(), &r, Field::Box4FederalTaxWithheld), "");
        assert_eq!(value(&cfg(), &r, Field::FederalTaxWithheld), "0.00");
        assert_eq!(value(&cfg(), &r, Field::Box1NonemployeeCompensation), "2000.00");
        let withheld = ret(profile("individual", "ssn", "Ana Example", None), 2_400);
        assert_eq!(value(&cfg(), &withheld, Field::Box4FederalTaxWithheld), "24.00");
        assert_eq!(value(&cfg(), &r, Field::PayerPhone), "5185550100");
        assert_eq!(value(&cfg(), &r, Field::RecipientZip), "787011234");
        assert_eq!(value(&cfg(), &r, Field::AccountNumber), "GH7-2026");
    }

    #[test]
    fn individuals_are_split_and_entities_named_as_businesses() {
        let sole = ret(profile("individual", "ein", "Ana María O'Neil", Some("O'Neil Labeling")), 0);
        assert_eq!(value(&cfg(), &sole, Field::RecipientFirstName), "Ana");
        assert_eq!(value(&cfg(), &sole, Field::RecipientLastName), "O'Neil");
        assert_eq!(value(&cfg(), &sole, Field::RecipientBusinessName), "");
        assert_eq!(value(&cfg(), &sole, Field::RecipientNameLine2), "O'Neil Labeling");
        assert_eq!(value(&cfg(), &sole, Field::RecipientTinType), "EIN");
        let corp = ret(profile("c_corporation", "ein", "Dee Labeling Inc", None), 0);
        assert_eq!(value(&cfg(), &corp, Field::RecipientBusinessName), "Dee Labeling Inc");
        assert_eq!(value(&cfg(), &corp, Field::RecipientFirstName), "");
        assert_eq!(value(&cfg(), &corp, Field::RecipientLastName), "");
    }

    #[test]
    fn state_boxes_are_filled_for_a_configured_state_only() {
        let tx = ret(profile("individual", "ssn", "Ana Example", None), 0);
        assert_eq!(value(&cfg(), &tx, Field::State), "TX");
        assert_eq!(value(&cfg(), &tx, Field::PayerStateNumber), "32-1234567");
        assert_eq!(value(&cfg(), &tx, Field::StateIncome), "2000.00");
        assert_eq!(value(&cfg(), &tx, Field::StateTaxWithheld), "", "no state tax is withheld");
        let mut ny = tx.clone();
        if let Some(p) = ny.profile.as_mut() {
            p.region = "NY".into();
        }
        for f in [Field::State, Field::PayerStateNumber, Field::StateIncome] {
            assert_eq!(value(&cfg(), &ny, f), "", "{f:?}");
        }
    }

    #[test]
    fn corrected_and_second_tin_notice_are_marked() {
        let mut r = ret(profile("individual", "ssn", "Ana Example", None), 0);
        assert_eq!(value(&cfg(), &r, Field::Corrected), "");
        assert_eq!(value(&cfg(), &r, Field::SecondTinNotice), "");
        r.corrected = true;
        r.second_tin_notice = true;
        assert_eq!(value(&cfg(), &r, Field::Corrected), "X");
        assert_eq!(value(&cfg(), &r, Field::SecondTinNotice), "X");
    }

    /// The header kept as data (`templates/tax/iris_1099nec.csv`) is the stored template
    /// (`templates/tax/irs/iris_1099nec_template.csv`), column for column.
    #[test]
    fn the_mapping_follows_the_stored_template_column_for_column() {
        let template = include_str!("../../templates/tax/irs/iris_1099nec_template.csv");
        let mut reader = csv::Reader::from_reader(template.as_bytes());
        let published: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(reader.records().count(), 0, "the template file is its header row");
        let ours: Vec<String> = parse_mapping(include_str!("../../templates/tax/iris_1099nec.csv"))
            .unwrap()
            .into_iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(ours, published);
    }

    #[test]
    fn mapping_files_name_known_fields_only() {
        assert!(parse_mapping("header,field\nTax Year,tax_year\n").is_ok());
        let e = parse_mapping("header,field\nTax Year,tax_yaer\n").unwrap_err();
        assert!(e.contains("tax_yaer"), "{e}");
        assert!(parse_mapping("header,field\n").is_err());
        assert!(parse_mapping("header,field\n,tax_year\n").is_err());
        let shipped = parse_mapping(include_str!("../../templates/tax/iris_1099nec.csv")).unwrap();
        assert!(shipped.len() > 30);
    }
}
