//! NACHA return reason codes and notification-of-change codes, as closed sets, and what
//! each means for a contributor's payout method. Pure.
//!
//! Sources: NACHA Operating Rules, Appendix Four ("Return Entries", Table of Return
//! Reason Codes: R01 to R53 are the codes an RDFI returns an entry with; R61 to R77
//! are dishonored and contested dishonored returns between the ODFI and the RDFI, and
//! R80 to R85 concern IAT entries, which Gatehouse never originates) and Appendix Five
//! ("Notification of Change", Table of Change Codes and the layout of the 29-character
//! Corrected Data field of the NOC addenda record).

use serde::Serialize;
use utoipa::ToSchema;

use super::model::BankAccountType;

/// What a returned credit means for the method it was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnAction {
    /// The account cannot take the money as it is (closed, unknown, frozen, refused,
    /// its owner deceased...): the method goes to `needs_update`; only the contributor
    /// can fix it.
    UpdateMethod,
    /// A transient or file-level problem on the originating side: the money goes back
    /// to `available` and the next batch pays the same, still valid, method.
    Retry,
}

macro_rules! return_codes {
    ($($code:ident => ($text:literal, $action:ident)),* $(,)?) => {
        /// A NACHA return reason code (Appendix Four).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub enum ReturnCode { $($code),* }

        impl ReturnCode {
            pub const ALL: &'static [ReturnCode] = &[$(ReturnCode::$code),*];

            pub fn as_str(self) -> &'static str {
                match self { $(ReturnCode::$code => stringify!($code)),* }
            }

            /// NACHA's title of the code.
            pub fn description(self) -> &'static str {
                match self { $(ReturnCode::$code => $text),* }
            }

            pub fn action(self) -> ReturnAction {
                match self { $(ReturnCode::$code => ReturnAction::$action),* }
            }
        }
    };
}

// Gatehouse originates credits (PPD/CCD). Codes that only ever apply to debits, to
// other entry classes (ARC, BOC, POP, RCK, XCK, ENR) or to check truncation cannot
// legitimately come back on one of them; if one does, the method is flagged for a
// person to look at rather than paid again (`UpdateMethod`).
return_codes! {
    R01 => ("Insufficient funds", Retry),
    R02 => ("Account closed", UpdateMethod),
    R03 => ("No account / unable to locate account", UpdateMethod),
    R04 => ("Invalid account number structure", UpdateMethod),
    R05 => ("Unauthorized debit to consumer account using corporate SEC code", UpdateMethod),
    R06 => ("Returned per ODFI's request", Retry),
    R07 => ("Authorization revoked by customer", UpdateMethod),
    R08 => ("Payment stopped", UpdateMethod),
    R09 => ("Uncollected funds", Retry),
    R10 => ("Customer advises originator is not known and/or not authorized", UpdateMethod),
    R11 => ("Customer advises entry not in accordance with the terms of the authorization", UpdateMethod),
    R12 => ("Account sold to another DFI", UpdateMethod),
    R13 => ("Invalid ACH routing number", UpdateMethod),
    R14 => ("Representative payee deceased or unable to continue in that capacity", UpdateMethod),
    R15 => ("Beneficiary or account holder (other than a representative payee) deceased", UpdateMethod),
    R16 => ("Account frozen / entry returned per OFAC instruction", UpdateMethod),
    R17 => ("File record edit criteria / entry with invalid account number initiated under questionable circumstances", UpdateMethod),
    R18 => ("Improper effective entry date", Retry),
    R19 => ("Amount field error", Retry),
    R20 => ("Non-transaction account", UpdateMethod),
    R21 => ("Invalid company identification", Retry),
    R22 => ("Invalid individual ID number", Retry),
    R23 => ("Credit entry refused by receiver", UpdateMethod),
    R24 => ("Duplicate entry", Retry),
    R25 => ("Addenda error", Retry),
    R26 => ("Mandatory field error", Retry),
    R27 => ("Trace number error", Retry),
    R28 => ("Routing number check digit error", UpdateMethod),
    R29 => ("Corporate customer advises not authorized", UpdateMethod),
    R30 => ("RDFI not participant in check truncation program", UpdateMethod),
    R31 => ("Permissible return entry (CCD and CTX only)", UpdateMethod),
    R32 => ("RDFI non-settlement", Retry),
    R33 => ("Return of XCK entry", UpdateMethod),
    R34 => ("Limited participation DFI", UpdateMethod),
    R35 => ("Return of improper debit entry", UpdateMethod),
    R36 => ("Return of improper credit entry", Retry),
    R37 => ("Source document presented for payment", UpdateMethod),
    R38 => ("Stop payment on source document", UpdateMethod),
    R39 => ("Improper source document / source document presented for payment", UpdateMethod),
    R40 => ("Return of ENR entry by federal government agency", UpdateMethod),
    R41 => ("Invalid transaction code (ENR only)", UpdateMethod),
    R42 => ("Routing number / check digit error (ENR only)", UpdateMethod),
    R43 => ("Invalid DFI account number (ENR only)", UpdateMethod),
    R44 => ("Invalid individual ID number / identification number (ENR only)", UpdateMethod),
    R45 => ("Invalid individual name / company name (ENR only)", UpdateMethod),
    R46 => ("Invalid representative payee indicator (ENR only)", UpdateMethod),
    R47 => ("Duplicate enrollment (ENR only)", UpdateMethod),
    R50 => ("State law affecting RCK acceptance", UpdateMethod),
    R51 => ("Item related to RCK entry is ineligible or RCK entry is improper", UpdateMethod),
    R52 => ("Stop payment on item related to RCK entry", UpdateMethod),
    R53 => ("Item and RCK entry presented for payment", UpdateMethod),
}

impl ReturnCode {
    /// Parses `R02` (case and surrounding spaces ignored); anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.iter().copied().find(|c| c.as_str().eq_ignore_ascii_case(s))
    }
}

/// A NACHA notification-of-change code (Appendix Five). The refused-NOC codes C61 to
/// C69 are sent by an originator's bank, never received by one, and are not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeCode {
    C01,
    C02,
    C03,
    C04,
    C05,
    C06,
    C07,
    C08,
    C09,
    C13,
    C14,
}

impl ChangeCode {
    pub const ALL: &'static [ChangeCode] = &[
        Self::C01,
        Self::C02,
        Self::C03,
        Self::C04,
        Self::C05,
        Self::C06,
        Self::C07,
        Self::C08,
        Self::C09,
        Self::C13,
        Self::C14,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::C01 => "C01",
            Self::C02 => "C02",
            Self::C03 => "C03",
            Self::C04 => "C04",
            Self::C05 => "C05",
            Self::C06 => "C06",
            Self::C07 => "C07",
            Self::C08 => "C08",
            Self::C09 => "C09",
            Self::C13 => "C13",
            Self::C14 => "C14",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.iter().copied().find(|c| c.as_str().eq_ignore_ascii_case(s))
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::C01 => "Incorrect DFI account number",
            Self::C02 => "Incorrect routing number",
            Self::C03 => "Incorrect routing number and incorrect DFI account number",
            Self::C04 => "Incorrect individual name / receiving company name",
            Self::C05 => "Incorrect transaction code",
            Self::C06 => "Incorrect DFI account number and incorrect transaction code",
            Self::C07 => "Incorrect routing number, incorrect DFI account number, and incorrect transaction code",
            Self::C08 => "Incorrect receiving DFI identification (IAT only)",
            Self::C09 => "Incorrect individual identification number / incorrect receiver identification number",
            Self::C13 => "Addenda format error",
            Self::C14 => "Incorrect SEC code for outbound international payment",
        }
    }
}

/// The corrections an NOC carries for a bank account; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Correction {
    pub routing_number: Option<String>,
    pub account_number: Option<String>,
    pub account_type: Option<BankAccountType>,
    pub holder_name: Option<String>,
}

impl Correction {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Characters `from..=to` (1-based, as NACHA numbers positions) of the Corrected Data
/// field, trimmed; empty when the field is shorter.
fn positions(data: &str, from: usize, to: usize) -> String {
    data.chars().skip(from - 1).take(to + 1 - from).collect::<String>().trim().to_string()
}

/// The account type a transaction code posts to: 22, 23, 24, 27, 28, 29 are checking
/// (demand) accounts, 32, 33, 34, 37, 38, 39 savings (Appendix Three, Transaction Code).
fn account_type(code: &str) -> Result<BankAccountType, &'static str> {
    match code {
        "22" | "23" | "24" | "27" | "28" | "29" => Ok(BankAccountType::Checking),
        "32" | "33" | "34" | "37" | "38" | "39" => Ok(BankAccountType::Savings),
        _ => Err("the corrected transaction code is not a checking (2x) or savings (3x) code"),
    }
}

fn required(value: String, what: &'static str) -> Result<String, &'static str> {
    if value.is_empty() {
        Err(what)
    } else {
        Ok(value)
    }
}

/// Reads the NOC's Corrected Data field (29 characters, Appendix Five) for `code`:
/// - C01: account number in positions 1–17;
/// - C02: routing number (with check digit) in 1–9;
/// - C03: routing number in 1–9, account number in 13–29;
/// - C04: individual or company name in 1–22;
/// - C05: transaction code in 1–2;
/// - C06: account number in 1–17, transaction code in 21–22;
/// - C07: routing number in 1–9, account number in 10–26, transaction code in 27–28;
/// - C08, C09, C13, C14: nothing a payout method holds (IAT data, the individual
///   identification number, which is Gatehouse's item id, addenda, SEC code).
///
/// The values are checked here only for presence; the caller validates them like any
/// bank account (ABA check digit, account length).
pub fn parse_corrected_data(code: ChangeCode, data: &str) -> Result<Correction, &'static str> {
    use ChangeCode::*;
    let routing = |from, to| required(positions(data, from, to), "the corrected routing number is missing");
    let account = |from, to| required(positions(data, from, to), "the corrected account number is missing");
    let kind = |from, to| account_type(&positions(data, from, to));
    let mut c = Correction::default();
    match code {
        C01 => c.account_number = Some(account(1, 17)?),
        C02 => c.routing_number = Some(routing(1, 9)?),
        C03 => {
            c.routing_number = Some(routing(1, 9)?);
            c.account_number = Some(account(13, 29)?);
        }
        C04 => {
            c.holder_name = Some(required(positions(data, 1, 22), "the corrected name is missing")?);
        }
        C05 => c.account_type = Some(kind(1, 2)?),
        C06 => {
            c.account_number = Some(account(1, 17)?);
            c.account_type = Some(kind(21, 22)?);
        }
        C07 => {
            c.routing_number = Some(routing(1, 9)?);
            c.account_number = Some(account(10, 26)?);
            c.account_type = Some(kind(27, 28)?);
        }
        C08 | C09 | C13 | C14 => {}
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_codes_are_a_closed_set() {
        assert_eq!(ReturnCode::ALL.len(), 51, "R01 to R47 and R50 to R53");
        assert_eq!(ReturnCode::parse("R02"), Some(ReturnCode::R02));
        assert_eq!(ReturnCode::parse(" r03 "), Some(ReturnCode::R03));
        for unknown in ["R00", "R48", "R49", "R54", "R61", "R85", "02", "closed", ""] {
            assert_eq!(ReturnCode::parse(unknown), None, "{unknown}");
        }
        for c in ReturnCode::ALL {
            assert_eq!(ReturnCode::parse(c.as_str()), Some(*c));
        }
    }

    #[test]
    fn a_closed_or_unknown_account_needs_an_update_a_transient_return_is_retried() {
        use ReturnAction::*;
        for (code, action) in [
            ("R01", Retry),
            ("R02", UpdateMethod),
            ("R03", UpdateMethod),
            ("R04", UpdateMethod),
            ("R06", Retry),
            ("R09", Retry),
            ("R14", UpdateMethod),
            ("R15", UpdateMethod),
            ("R16", UpdateMethod),
            ("R20", UpdateMethod),
            ("R23", UpdateMethod),
            ("R24", Retry),
            ("R29", UpdateMethod),
        ] {
            assert_eq!(ReturnCode::parse(code).unwrap().action(), action, "{code}");
        }
        assert_eq!(ReturnCode::R02.description(), "Account closed");
    }

    #[test]
    fn change_codes_are_a_closed_set() {
        assert_eq!(ChangeCode::parse("c01"), Some(ChangeCode::C01));
        for unknown in ["C10", "C11", "C12", "C61", "C69", "C00", "R01", ""] {
            assert_eq!(ChangeCode::parse(unknown), None, "{unknown}");
        }
        for c in ChangeCode::ALL {
            assert_eq!(ChangeCode::parse(c.as_str()), Some(*c));
        }
    }

    /// The corrected data as NACHA lays it out in the 29-character field.
    #[test]
    fn corrected_data_by_the_published_positions() {
        let c01 = parse_corrected_data(ChangeCode::C01, "1918171614                   ").unwrap();
        assert_eq!(c01.account_number.as_deref(), Some("1918171614"));
        let c02 = parse_corrected_data(ChangeCode::C02, "121042882").unwrap();
        assert_eq!(c02.routing_number.as_deref(), Some("121042882"));
        //            routing   blank account (13-29)
        let c03 = parse_corrected_data(ChangeCode::C03, "121042882   12345678901234567").unwrap();
        assert_eq!(
            (c03.routing_number.as_deref(), c03.account_number.as_deref()),
            (Some("121042882"), Some("12345678901234567"))
        );
        let c04 = parse_corrected_data(ChangeCode::C04, "ANA M EXAMPLE").unwrap();
        assert_eq!(c04.holder_name.as_deref(), Some("ANA M EXAMPLE"));
        let c05 = parse_corrected_data(ChangeCode::C05, "32").unwrap();
        assert_eq!(c05.account_type, Some(BankAccountType::Savings));
        //            account (1-17)      tc (21-22)
        let c06 = parse_corrected_data(ChangeCode::C06, "5550001234          22").unwrap();
        assert_eq!(
            (c06.account_number.as_deref(), c06.account_type),
            (Some("5550001234"), Some(BankAccountType::Checking))
        );
        //            routing  account (10-26)  tc (27-28)
        let c07 = parse_corrected_data(ChangeCode::C07, "0210000215550001234       32").unwrap();
        assert_eq!(c07.routing_number.as_deref(), Some("021000021"));
        assert_eq!(c07.account_number.as_deref(), Some("5550001234"));
        assert_eq!(c07.account_type, Some(BankAccountType::Savings));
        assert!(parse_corrected_data(ChangeCode::C09, "").unwrap().is_empty());
        assert!(parse_corrected_data(ChangeCode::C13, "").unwrap().is_empty());
    }

    #[test]
    fn incomplete_corrected_data_is_refused() {
        assert!(parse_corrected_data(ChangeCode::C01, "   ").is_err());
        assert!(parse_corrected_data(ChangeCode::C03, "121042882").is_err(), "no account in 13-29");
        assert!(parse_corrected_data(ChangeCode::C05, "99").is_err());
        assert!(parse_corrected_data(ChangeCode::C06, "5550001234").is_err(), "no transaction code");
        assert!(parse_corrected_data(ChangeCode::C07, "021000021").is_err());
    }
}
