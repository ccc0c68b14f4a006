//! The one pagination style of every list (SPEC §12): `?limit=` (1 to 200, 50 by
//! default) and `?cursor=`, answered with `items`, `has_more` and `next_cursor`. Lists
//! are keyset-paginated by id; the cursor is that id, encoded so clients treat it as
//! opaque (the encoding may change, a cursor from a previous page always works).

use serde::{Deserialize, Deserializer, Serializer};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

pub fn encode(id: i64) -> String {
    format!("c{id}")
}

/// A cursor this service wrote: `c` and 1 to 18 digits (so it always fits an id).
pub fn decode(cursor: &str) -> Option<i64> {
    let digits = cursor.strip_prefix('c')?;
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `deserialize_with` of a `cursor` query parameter.
pub fn cursor<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => decode(&s).map(Some).ok_or_else(|| serde::de::Error::custom("cursor: not a cursor of this list")),
    }
}

/// `deserialize_with` of a `limit` query parameter: 1 to [`MAX_LIMIT`], else refused.
pub fn limit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<String>::deserialize(d)?;
    match value {
        None => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(Some(n)),
            _ => Err(serde::de::Error::custom(format!("limit: a whole number from 1 to {MAX_LIMIT}"))),
        },
    }
}

/// `serialize_with` of `next_cursor`.
pub fn next<S: Serializer>(id: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.serialize_some(&encode(*id)),
        None => s.serialize_none(),
    }
}

/// `?cursor=&limit=` of every list, as query parameters.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page (opaque).
    #[serde(default, deserialize_with = "crate::db::page::cursor")]
    #[param(value_type = Option<String>, pattern = r"^c[0-9]{1,18}$")]
    pub cursor: Option<i64>,
    /// Page size, 50 by default, at most 200.
    #[serde(default, deserialize_with = "crate::db::page::limit")]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Declares the page type of a list: `items`, `has_more` and `next_cursor`, with the
/// constructor every list handler uses. A named type per list (not a generic `Page<T>`)
/// keeps one named schema per list in the OpenAPI document.
macro_rules! page_of {
    ($(#[$meta:meta])* $name:ident, $item:ty) => {
        $(#[$meta])*
        #[derive(serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Whether another page follows.
            pub has_more: bool,
            /// Send it back as `cursor` for the next page; null on the last one.
            #[serde(serialize_with = "crate::db::page::next")]
            #[schema(value_type = Option<String>)]
            pub next_cursor: Option<i64>,
        }

        impl $name {
            /// The page of `rows` (fetched with `LIMIT limit`), keyed by `id`, each
            /// shown through `view`.
            #[allow(dead_code)]
            pub fn of<R>(
                rows: Vec<R>,
                limit: Option<i64>,
                id: impl Fn(&R) -> i64,
                view: impl FnMut(R) -> $item,
            ) -> Self {
                let next_cursor = crate::db::next_cursor(&rows, limit, id);
                Self { items: rows.into_iter().map(view).collect(), has_more: next_cursor.is_some(), next_cursor }
            }
        }
    };
}
pub(crate) use page_of;

#[cfg(test)]
mod tests {
    #[test]
    fn cursors_round_trip_and_refuse_others() {
        for id in [0, 1, 42, 999_999_999_999_999_999] {
            assert_eq!(super::decode(&super::encode(id)), Some(id));
        }
        assert_eq!(super::decode("42"), None);
        assert_eq!(super::decode("c"), None);
        assert_eq!(super::decode("c-1"), None);
        assert_eq!(super::decode("c9999999999999999999"), None);
    }
}
