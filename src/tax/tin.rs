//! Taxpayer identification numbers: format rules and masking. Pure functions.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TinType {
    Ssn,
    Ein,
}

impl TinType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ssn => "ssn",
            Self::Ein => "ein",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ssn" => Some(Self::Ssn),
            "ein" => Some(Self::Ein),
            _ => None,
        }
    }
}

/// Why a TIN is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TinError {
    NotNineDigits,
    InvalidArea,
    InvalidGroup,
    InvalidSerial,
    AllZeros,
}

impl TinError {
    pub fn code(self) -> &'static str {
        match self {
            Self::NotNineDigits => "nine_digits",
            Self::InvalidArea => "ssn_area",
            Self::InvalidGroup => "ssn_group",
            Self::InvalidSerial => "ssn_serial",
            Self::AllZeros => "all_zeros",
        }
    }
    pub fn message(self) -> &'static str {
        match self {
            Self::NotNineDigits => "a TIN has nine digits (dashes and spaces are ignored)",
            Self::InvalidArea => "an SSN cannot start with 000, 666 or 9",
            Self::InvalidGroup => "the middle two digits of an SSN cannot be 00",
            Self::InvalidSerial => "the last four digits of an SSN cannot be 0000",
            Self::AllZeros => "a TIN cannot be all zeros",
        }
    }
}

/// Normalises to nine digits and checks the rules of SPEC §9: SSN area not 000, 666
/// or 9xx, group not 00, serial not 0000; an EIN is nine digits, not all zeros.
pub fn normalize(kind: TinType, raw: &str) -> Result<String, TinError> {
    if raw.chars().any(|c| !(c.is_ascii_digit() || c == '-' || c == ' ')) {
        return Err(TinError::NotNineDigits);
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 9 {
        return Err(TinError::NotNineDigits);
    }
    if digits.bytes().all(|b| b == b'0') {
        return Err(TinError::AllZeros);
    }
    if kind == TinType::Ssn {
        let area = &digits[0..3];
        if area == "000" || area == "666" || area.starts_with('9') {
            return Err(TinError::InvalidArea);
        }
        if &digits[3..5] == "00" {
            return Err(TinError::InvalidGroup);
        }
        if &digits[5..9] == "0000" {
            return Err(TinError::InvalidSerial);
        }
    }
    Ok(digits)
}

/// `***-**-1234` for an SSN, `**-***1234` for an EIN.
pub fn mask(kind: TinType, last4: &str) -> String {
    match kind {
        TinType::Ssn => format!("***-**-{last4}"),
        TinType::Ein => format!("**-***{last4}"),
    }
}

/// `123-45-6789` / `12-3456789`, for filing exports only.
pub fn format_full(kind: TinType, digits: &str) -> String {
    match kind {
        TinType::Ssn => format!("{}-{}-{}", &digits[0..3], &digits[3..5], &digits[5..9]),
        TinType::Ein => format!("{}-{}", &digits[0..2], &digits[2..9]),
    }
}

#[cfg(test)]
mod tests {
    use super::TinError::*;
    use super::TinType::*;
    use super::*;

    #[test]
    fn ssn_rules() {
        assert_eq!(normalize(Ssn, "123-45-6789").unwrap(), "123456789");
        assert_eq!(normalize(Ssn, "000-12-3456"), Err(InvalidArea));
        assert_eq!(normalize(Ssn, "666-12-3456"), Err(InvalidArea));
        assert_eq!(normalize(Ssn, "900-12-3456"), Err(InvalidArea));
        assert_eq!(normalize(Ssn, "999-12-3456"), Err(InvalidArea));
        assert_eq!(normalize(Ssn, "123-00-4567"), Err(InvalidGroup));
        assert_eq!(normalize(Ssn, "123-45-0000"), Err(InvalidSerial));
        assert_eq!(normalize(Ssn, "12345678"), Err(NotNineDigits));
        assert_eq!(normalize(Ssn, "1234567890"), Err(NotNineDigits));
        assert_eq!(normalize(Ssn, "12a-45-6789"), Err(NotNineDigits));
        assert_eq!(normalize(Ssn, "000-00-0000"), Err(AllZeros));
    }

    #[test]
    fn ein_rules_and_masks() {
        assert_eq!(normalize(Ein, "12-3456789").unwrap(), "123456789");
        assert_eq!(normalize(Ein, "98-7654321").unwrap(), "987654321", "EINs may start with 9");
        assert_eq!(normalize(Ein, "00-0000000"), Err(AllZeros));
        assert_eq!(mask(Ssn, "6789"), "***-**-6789");
        assert_eq!(mask(Ein, "6789"), "**-***6789");
        assert_eq!(format_full(Ssn, "123456789"), "123-45-6789");
        assert_eq!(format_full(Ein, "123456789"), "12-3456789");
    }
}
