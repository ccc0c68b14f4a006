//! Tracing setup: human-readable or JSON logs, filtered by RUST_LOG.

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

pub fn init(format: &LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    // try_init: a second call (tests start several apps) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The id of one request: the client's `X-Request-Id` when it is a sensible token (1 to
/// 128 characters of letters, digits, `-`, `_`, `.`, `:`), else a new UUID. It is echoed
/// in the response, written on the access-log line and on every audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn from_header(value: Option<&str>) -> Self {
        match value {
            Some(v) if Self::acceptable(v) => Self(v.to_string()),
            _ => Self(uuid::Uuid::new_v4().to_string()),
        }
    }

    fn acceptable(v: &str) -> bool {
        (1..=128).contains(&v.len())
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    }
}

/// The signed-in user of a request, recorded by the bearer extractor for the access log.
#[derive(Debug, Clone, Copy)]
pub struct Actor(pub i64);

/// One access-log line: what was asked (method, route pattern: never the raw path, which
/// may hold tokens, nor a body), how it ended and for whom.
pub struct Access<'a> {
    pub method: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub duration: std::time::Duration,
    pub request_id: &'a str,
    pub actor_id: Option<i64>,
}

impl Access<'_> {
    pub fn log(&self) {
        let duration_ms = self.duration.as_secs_f64() * 1000.0;
        tracing::info!(
            target: "gatehouse::access",
            method = self.method,
            route = self.route,
            status = self.status,
            duration_ms = format!("{duration_ms:.1}"),
            request_id = self.request_id,
            actor_id = self.actor_id,
            "request"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::RequestId;

    #[test]
    fn request_ids_are_honoured_when_sensible() {
        assert_eq!(RequestId::from_header(Some("abc-123_x.y:z")).0, "abc-123_x.y:z");
        for bad in ["", "has space", "new\nline", "<script>", &"x".repeat(129)] {
            let id = RequestId::from_header(Some(bad)).0;
            assert_ne!(id, bad);
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        }
        assert!(uuid::Uuid::parse_str(&RequestId::from_header(None).0).is_ok());
    }
}
