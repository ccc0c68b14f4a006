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
//! - **No NUL in text.** U+0000 is refused at the edge, whatever the field: PostgreSQL
//!   cannot store it in text (the fuzzer's project name `"#…\u0000…"` was a 500 there)
//!   and SQLite would. [`refuse_nul`] answers 400 to `%00` in a query string (`invalid_query`)
//!   or a path (404), and wraps JSON and form bodies in a [`NulGuard`] stream that fails
//!   the read when the escape `\u0000` (JSON) or `%00` (form) goes by, so the extractor
//!   answers its own 400 and every route keeps its own body limit (nothing is buffered
//!   here). Multipart text fields are checked where they are read (`files::multipart`).
//!   The OpenAPI document states it: every free string has the pattern
//!   [`crate::openapi::NO_NUL`].

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

/// Middleware: see the module documentation ("No NUL in text").
pub async fn refuse_nul(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<
    actix_web::dev::ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>,
    actix_web::Error,
> {
    use crate::error::{AppError, ProblemCode};
    use actix_web::ResponseError;
    let refused = if has_encoded_nul(req.uri().path()) {
        Some(AppError::NotFound)
    } else if has_encoded_nul(req.query_string()) {
        Some(AppError::invalid(ProblemCode::InvalidQuery, "the query string holds the NUL character (%00)"))
    } else {
        None
    };
    if let Some(problem) = refused {
        return Ok(req.into_response(problem.error_response()).map_into_right_body());
    }
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let encoding = if content_type.contains("json") {
        Some(Encoding::Json)
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        Some(Encoding::Form)
    } else {
        None
    };
    if let Some(encoding) = encoding {
        let inner = actix_web::HttpMessage::take_payload(&mut req);
        let guarded: std::pin::Pin<Box<dyn futures_util::Stream<Item = PayloadItem>>> =
            Box::pin(NulGuard::new(inner, encoding));
        req.set_payload(actix_web::dev::Payload::from(guarded));
    }
    next.call(req).await.map(|res| res.map_into_left_body())
}

/// A raw request body (for handlers that hash it or read JSON or CSV themselves), read
/// like `web::Bytes` within the service-wide limit, but whose failures are problems: a
/// body over the limit is the 413 `payload_too_large`, one that could not be read (a
/// [`NulGuard`] refusal among them) a 400 `malformed_json`, never actix's plain-text
/// answer.
pub struct Body(pub actix_web::web::Bytes);

impl actix_web::FromRequest for Body {
    type Error = crate::error::AppError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &actix_web::HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let bytes = actix_web::web::Bytes::from_request(req, payload);
        Box::pin(async move {
            bytes.await.map(Body).map_err(|e| {
                if e.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
                    crate::error::AppError::PayloadTooLarge
                } else {
                    crate::error::AppError::invalid(
                        crate::error::ProblemCode::MalformedJson,
                        format!("the body could not be read: {e}"),
                    )
                }
            })
        })
    }
}

impl std::ops::Deref for Body {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// What a request payload yields.
type PayloadItem = Result<actix_web::web::Bytes, actix_web::error::PayloadError>;

/// Whether percent-encoded text (a path, a query string, a form body) holds `%00`.
pub fn has_encoded_nul(text: &str) -> bool {
    text.as_bytes().windows(3).any(|w| w == b"%00")
}

/// How a body writes U+0000: JSON as the escape `\u0000` (a raw NUL byte is not valid
/// JSON and the parser refuses it), a form as `%00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Form,
}

/// A scanner for U+0000 in a body read in chunks, its state carried across chunk
/// boundaries: the number of bytes of the marker (`\u0000` or `%00`) matched so far.
#[derive(Debug, Clone)]
pub struct NulScanner {
    encoding: Encoding,
    matched: usize,
}

impl NulScanner {
    pub fn new(encoding: Encoding) -> Self {
        Self { encoding, matched: 0 }
    }

    /// Reads the next chunk; true once the body has held U+0000.
    pub fn feed(&mut self, chunk: &[u8]) -> bool {
        for &b in chunk {
            self.matched = match (self.encoding, self.matched, b) {
                (Encoding::Json, 0, b'\\') => 1,
                // After a backslash: `u` starts the escape; any other character (another
                // backslash included) is a two-character escape, done.
                (Encoding::Json, 1, b'u') => 2,
                (Encoding::Json, 1, _) => 0,
                (Encoding::Json, 2..=4, b'0') => self.matched + 1,
                (Encoding::Json, 5, b'0') => return true,
                (Encoding::Json, _, b'\\') => 1,
                (Encoding::Form, _, b'%') => 1,
                (Encoding::Form, 1, b'0') => 2,
                (Encoding::Form, 2, b'0') => return true,
                _ => 0,
            };
        }
        false
    }
}

/// A request payload that fails its read (a `PayloadError`, which the extractor answers
/// as its 400) once a [`NulScanner`] has seen U+0000; chunks pass through unchanged.
pub struct NulGuard<S> {
    inner: S,
    scanner: NulScanner,
}

impl<S> NulGuard<S> {
    pub fn new(inner: S, encoding: Encoding) -> Self {
        Self { inner, scanner: NulScanner::new(encoding) }
    }
}

impl<S> futures_util::Stream for NulGuard<S>
where
    S: futures_util::Stream<Item = PayloadItem> + Unpin,
{
    type Item = PayloadItem;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_next(cx) {
            std::task::Poll::Ready(Some(Ok(chunk))) if this.scanner.feed(&chunk) => {
                std::task::Poll::Ready(Some(Err(actix_web::error::PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the body holds the NUL character (U+0000), which no text field accepts",
                )))))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Encoding, NulScanner};

    fn nul(encoding: Encoding, chunks: &[&[u8]]) -> bool {
        let mut s = NulScanner::new(encoding);
        chunks.iter().any(|c| s.feed(c))
    }

    #[test]
    fn an_escaped_nul_is_found_and_an_escaped_backslash_is_not_one() {
        let json = |b: &[u8]| nul(Encoding::Json, &[b]);
        assert!(json(br#"{"name": "a\u0000b"}"#));
        assert!(json(br#"{"\u0000": 1}"#));
        assert!(json(br#"["x", "\\\u0000"]"#), "an escaped backslash, then the escape");
        assert!(!json(br#"{"name": "a\\u0000b"}"#), "a backslash and the text u0000");
        assert!(json(br#"{"name": "\u00001"}"#), "NUL followed by a digit");
        assert!(!json(br#"{"name": "\u0001 \u1000 u0000 \u000a"}"#));
        assert!(!json(br#"{"name": "end\"#), "a body cut after a backslash");
        assert!(json(br#"\\\u0000"#), "backslash pair then escape");
    }

    #[test]
    fn a_nul_split_across_chunks_is_found() {
        let body: &[u8] = br#"{"name": "a\u0000b"}"#;
        for cut in 0..=body.len() {
            assert!(nul(Encoding::Json, &[&body[..cut], &body[cut..]]), "cut at {cut}");
        }
        let form: &[u8] = b"name=a%00b";
        for cut in 0..=form.len() {
            assert!(nul(Encoding::Form, &[&form[..cut], &form[cut..]]), "cut at {cut}");
        }
        let clean: &[u8] = br#"{"a": "\\u0000", "b": "%00"}"#;
        for cut in 0..=clean.len() {
            assert!(!nul(Encoding::Json, &[&clean[..cut], &clean[cut..]]), "cut at {cut}");
        }
    }

    #[test]
    fn a_form_nul_is_percent_zero_zero_only() {
        let form = |b: &[u8]| nul(Encoding::Form, &[b]);
        assert!(form(b"a=1&b=%00"));
        assert!(form(b"a=%%00"));
        assert!(form(b"a=%000"), "NUL, then the digit 0");
        assert!(!form(b"a=%01&b=%0a&c=100%25"));
        assert!(!form(br#"a=\u0000"#), "JSON's escape is text in a form");
        assert!(super::has_encoded_nul("/api/v1/x%00y") && !super::has_encoded_nul("q=100%25"));
    }

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
