//! Taxpayer identification numbers: format rules and masking. Pure functions.
//!
//! Sources: SSN format (SSA: area 000, 666 and 900–999 are never issued, group 00 and
//! serial 0000 never); ITIN format (IRS, "General ITIN information" and the
//! Instructions for Form W-7: nine digits starting with 9, the fourth and fifth digits
//! in 50–65, 70–88, 90–92 or 94–99; 93 is an ATIN, 01–10, 17–19, 28–29 and 37–39 are
//! IRS-internal IRSNs); Form W-9 Part I (an ITIN is entered in the SSN box).

crate::text_enum! {
    pub enum TinType {
        Ssn = "ssn",
        /// Individual taxpayer identification number (IRS, for people without an SSN).
        Itin = "itin",
        Ein = "ein",
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
    /// An ITIN starts with 9.
    ItinArea,
    /// The ITIN's fourth and fifth digits are outside the IRS's ranges.
    ItinGroup,
}

impl TinError {
    pub fn code(self) -> &'static str {
        match self {
            Self::NotNineDigits => "nine_digits",
            Self::InvalidArea => "ssn_area",
            Self::InvalidGroup => "ssn_group",
            Self::InvalidSerial => "ssn_serial",
            Self::AllZeros => "all_zeros",
            Self::ItinArea => "itin_area",
            Self::ItinGroup => "itin_group",
        }
    }
    pub fn message(self) -> &'static str {
        match self {
            Self::NotNineDigits => "a TIN has nine digits (dashes and spaces are ignored)",
            Self::InvalidArea => {
                "an SSN cannot start with 000 or 666, and a number starting with 9 is accepted only as an ITIN \
                 (fourth and fifth digits 50-65, 70-88, 90-92 or 94-99)"
            }
            Self::InvalidGroup => "the middle two digits of an SSN cannot be 00",
            Self::InvalidSerial => "the last four digits of an SSN cannot be 0000",
            Self::AllZeros => "a TIN cannot be all zeros",
            Self::ItinArea => "an ITIN starts with 9",
            Self::ItinGroup => "the fourth and fifth digits of an ITIN are 50-65, 70-88, 90-92 or 94-99",
        }
    }
}

/// The IRS's ITIN ranges of the fourth and fifth digits (50–65, 70–88, 90–92, 94–99).
pub fn itin_group(group: u8) -> bool {
    matches!(group, 50..=65 | 70..=88 | 90..=92 | 94..=99)
}

/// Normalises to nine digits and checks the rules of SPEC §9: SSN area not 000, 666
/// or 9xx, group not 00, serial not 0000; an ITIN starts with 9 and has its middle
/// digits in the IRS's ranges; an EIN is nine digits, not all zeros.
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
    let group: u8 = digits[3..5].parse().map_err(|_| TinError::NotNineDigits)?;
    match kind {
        TinType::Ssn => {
            let area = &digits[0..3];
            if area == "000" || area == "666" || area.starts_with('9') {
                return Err(TinError::InvalidArea);
            }
            if group == 0 {
                return Err(TinError::InvalidGroup);
            }
            if &digits[5..9] == "0000" {
                return Err(TinError::InvalidSerial);
            }
        }
        TinType::Itin => {
            if !digits.starts_with('9') {
                return Err(TinError::ItinArea);
            }
            if !itin_group(group) {
                return Err(TinError::ItinGroup);
            }
        }
        TinType::Ein => {}
    }
    Ok(digits)
}

/// The number in the SSN box of a W-9 is an SSN or an ITIN (Form W-9, Part I): a
/// number given as an SSN that is a valid ITIN is recorded as one. Returns the type
/// recorded and the nine digits.
pub fn classify(kind: TinType, raw: &str) -> Result<(TinType, String), TinError> {
    match normalize(kind, raw) {
        Err(TinError::InvalidArea) if kind == TinType::Ssn => {
            // Neither an SSN nor an ITIN: the SSN's area rule is the one to explain.
            normalize(TinType::Itin, raw).map(|d| (TinType::Itin, d)).map_err(|_| TinError::InvalidArea)
        }
        other => other.map(|d| (kind, d)),
    }
}

/// `***-**-1234` for an SSN, `**-***1234` for an EIN.
pub fn mask(kind: TinType, last4: &str) -> String {
    match kind {
        TinType::Ssn | TinType::Itin => format!("***-**-{last4}"),
        TinType::Ein => format!("**-***{last4}"),
    }
}

/// `123-45-6789` / `12-3456789`, for filing exports only.
pub fn format_full(kind: TinType, digits: &str) -> String {
    match kind {
        TinType::Ssn | TinType::Itin => format!("{}-{}-{}", &digits[0..3], &digits[3..5], &digits[5..9]),
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
    fn itin_ranges_as_the_irs_publishes_them() {
        // The IRS's example shape 9NN-7N-NNNN, and every edge of every range.
        assert_eq!(normalize(Itin, "912-78-1234").unwrap(), "912781234");
        for group in ["50", "65", "70", "88", "90", "92", "94", "99"] {
            assert!(normalize(Itin, &format!("900-{group}-0001")).is_ok(), "{group}");
        }
        for group in ["00", "01", "10", "49", "66", "69", "89", "93"] {
            assert_eq!(normalize(Itin, &format!("900-{group}-0001")), Err(ItinGroup), "{group}");
        }
        assert_eq!(normalize(Itin, "812-78-1234"), Err(ItinArea));
        assert_eq!(normalize(Itin, "912781234").unwrap(), "912781234");
        assert_eq!(mask(Itin, "1234"), "***-**-1234");
        assert_eq!(format_full(Itin, "912781234"), "912-78-1234");
    }

    #[test]
    fn an_itin_in_the_ssn_box_is_recorded_as_an_itin() {
        assert_eq!(classify(Ssn, "912-78-1234"), Ok((Itin, "912781234".into())));
        assert_eq!(classify(Ssn, "123-45-6789"), Ok((Ssn, "123456789".into())));
        // 9xx outside the ITIN ranges (an ATIN, an IRSN) stays refused as an SSN.
        assert_eq!(classify(Ssn, "912-93-1234"), Err(InvalidArea));
        assert_eq!(classify(Ssn, "912-05-1234"), Err(InvalidArea));
        assert_eq!(classify(Itin, "912-93-1234"), Err(ItinGroup));
        assert_eq!(classify(Ssn, "666-78-1234"), Err(InvalidArea));
        assert_eq!(classify(Ssn, "000-78-1234"), Err(InvalidArea));
        assert_eq!(classify(Itin, "123-78-1234"), Err(ItinArea));
        assert_eq!(classify(Ein, "98-7654321"), Ok((Ein, "987654321".into())));
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
