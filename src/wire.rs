//! How request members are read where serde's defaults and the OpenAPI document (JSON
//! Schema 2020-12) disagree, so a request the document calls valid is never refused for
//! its shape (issue 18).
//!
//! - **Whole numbers.** JSON has one number type, and to JSON Schema `34.0` is the integer
//!   34 (2020-12 Validation §6.1.1: "an integer ... any number with a zero fractional
//!   part"). serde refuses `34.0` for an `i64`; [`whole`] and [`whole_opt`] accept it,
//!   refuse a fraction (`34.5`), and refuse a float beyond 2^53, where a float no longer
//!   stands for one integer.
//! - **Bounded query integers.** [`bounded`] refuses a query integer outside the range the
//!   document states (a 400 `invalid_query`), where the service would otherwise read it.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// The largest integer a JSON float stands for exactly (2^53).
const EXACT_FLOAT: f64 = 9_007_199_254_740_992.0;

/// An integer member written either as an integer or as a float with no fraction.
struct Whole<T>(T);

impl<'de, T: TryFrom<i64>> Deserialize<'de> for Whole<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<T: TryFrom<i64>> V<T> {
            fn fit<E: de::Error>(n: i64) -> Result<Whole<T>, E> {
                T::try_from(n).map(Whole).map_err(|_| E::custom(format!("{n} is out of range")))
            }
        }
        impl<T: TryFrom<i64>> Visitor<'_> for V<T> {
            type Value = Whole<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
                Self::fit(n)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
                i64::try_from(n).map_err(|_| E::custom(format!("{n} is out of range"))).and_then(Self::fit)
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<Self::Value, E> {
                if x.is_finite() && x.fract() == 0.0 && x.abs() <= EXACT_FLOAT {
                    // Exact: a whole float of at most 2^53 is one i64.
                    Self::fit(x as i64)
                } else {
                    Err(E::custom(format!("{x} is not a whole number")))
                }
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// `deserialize_with` of an integer member (see the module documentation).
pub fn whole<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<T, D::Error> {
    Whole::<T>::deserialize(d).map(|w| w.0)
}

/// [`whole`] for an optional member (with `#[serde(default)]`).
pub fn whole_opt<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<Whole<T>>::deserialize(d).map(|w| w.map(|w| w.0))
}

/// `deserialize_with` of an optional query integer from `MIN` to `MAX`, as the document
/// states; anything else is refused.
pub fn bounded<'de, D: Deserializer<'de>, const MIN: i64, const MAX: i64>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (MIN..=MAX).contains(&n) => Ok(Some(n)),
            _ => Err(de::Error::custom(format!("a whole number from {MIN} to {MAX}"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::whole")]
        cents: i64,
        #[serde(default, deserialize_with = "super::whole_opt")]
        percent: Option<i32>,
    }

    fn read(json: &str) -> Result<Body, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn whole_floats_are_integers_and_fractions_are_not() {
        let b = read(r#"{"cents": 1689.0, "percent": 34.0}"#).unwrap();
        assert_eq!((b.cents, b.percent), (1689, Some(34)));
        let b = read(r#"{"cents": -262144}"#).unwrap();
        assert_eq!((b.cents, b.percent), (-262144, None));
        assert_eq!(read(r#"{"cents": 1, "percent": null}"#).unwrap().percent, None);
        assert!(read(r#"{"cents": 1689.5}"#).unwrap_err().contains("not a whole number"));
        assert!(read(r#"{"cents": 1e300}"#).is_err());
        assert!(read(r#"{"cents": 9007199254740994.0}"#).is_err(), "beyond 2^53 a float is not one integer");
        assert_eq!(read(r#"{"cents": 9007199254740992.0}"#).unwrap().cents, 9_007_199_254_740_992);
        assert!(read(r#"{"cents": 1, "percent": 2147483648}"#).unwrap_err().contains("out of range"));
        assert!(read(r#"{"cents": 18446744073709551615}"#).unwrap_err().contains("out of range"));
        assert!(read(r#"{"cents": "12"}"#).is_err());
    }

    #[derive(Debug, Deserialize)]
    struct Query {
        #[serde(default, deserialize_with = "super::bounded::<_, 0, 87600>")]
        hours: Option<i64>,
    }

    #[test]
    fn bounded_query_integers_refuse_what_the_document_refuses() {
        let q = |s: &str| serde_urlencoded::from_str::<Query>(s).map(|q| q.hours);
        assert_eq!(q("hours=0").unwrap(), Some(0));
        assert_eq!(q("hours=87600").unwrap(), Some(87600));
        assert_eq!(q("").unwrap(), None);
        assert!(q("hours=-1").is_err());
        assert!(q("hours=87601").is_err());
        assert!(q("hours=x").is_err());
    }
}
