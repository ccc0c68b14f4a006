//! Case-insensitive "contains" searches, the same on SQLite and PostgreSQL: the
//! column through SQL `lower()`, the text as a `LIKE` pattern with its wildcards
//! escaped (used with `.escape('\\')`), so a search never runs a wildcard it was given.

/// A `LIKE` pattern matching `text` anywhere, lower-cased, with `%`, `_` and `\`
/// escaped (used with `.escape('\\')`).
pub fn contains_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

diesel::define_sql_function! {
    /// SQL `lower()`, the same on SQLite and PostgreSQL.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// SQL `coalesce()` of a nullable timestamp and a timestamp: the first when set.
    fn coalesce(x: diesel::sql_types::Nullable<diesel::sql_types::Timestamp>, y: diesel::sql_types::Timestamp) -> diesel::sql_types::Timestamp;
}

/// Whether a person (`users`, in the query's FROM clause) has `$text` in their name or
/// email, in any case: `lower(full_name) LIKE p OR lower(email) LIKE p`.
#[macro_export]
macro_rules! person_like {
    ($text:expr) => {{
        use diesel::prelude::*;
        use $crate::db::schema::users;
        let pattern = $crate::db::like::contains_pattern($text);
        $crate::db::like::lower(users::full_name).like(pattern.clone()).escape('\\').or($crate::db::like::lower(
            users::email,
        )
        .like(pattern)
        .escape('\\'))
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("A_b%"), "%a\\_b\\%%");
    }
}
