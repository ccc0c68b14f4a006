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
