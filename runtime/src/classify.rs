//! What a failure says about trying again: [`Retryability`], the [`Retryable`] errors that
//! know it (HTTP statuses and responses with `Retry-After`, I/O errors, timeouts, idemgate's own
//! errors, reqwest's), and the [`Classification`] a `retry_on` predicate returns. The retry
//! executor and the circuit breaker both classify outcomes with these; neither imports the
//! other for them.

use std::time::{Duration, SystemTime};

use crate::Error;

/// What a failure says about trying again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retryability {
    /// A blip (timeout, reset, 502/503/504): retry with backoff.
    Transient,
    /// The dependency asked to slow down (429, or 503 with `Retry-After`): retry no sooner
    /// than `retry_after` when given.
    Throttled {
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// Retrying cannot help (4xx, validation, not found): return the error.
    Permanent,
}

impl Retryability {
    /// Whether this classification allows a retry (transient or throttled).
    pub const fn is_retryable(&self) -> bool {
        !matches!(self, Retryability::Permanent)
    }
}

/// Errors (or outcomes) that know whether a retry can help.
pub trait Retryable {
    /// Classifies this failure.
    fn retryability(&self) -> Retryability;
}

impl Retryable for Retryability {
    fn retryability(&self) -> Retryability {
        *self
    }
}

impl Retryable for http::StatusCode {
    /// 429 is throttled, 502/503/504 transient, everything else permanent (other 4xx are the
    /// caller's fault; 500 is usually a bug, not a blip).
    fn retryability(&self) -> Retryability {
        match self.as_u16() {
            429 => Retryability::Throttled { retry_after: None },
            502..=504 => Retryability::Transient,
            _ => Retryability::Permanent,
        }
    }
}

impl<B> Retryable for http::Response<B> {
    /// The status's classification, with the `Retry-After` header (delta-seconds or
    /// HTTP-date) attached to 429 and 503.
    fn retryability(&self) -> Retryability {
        let status = self.status();
        let retry_after = || {
            self.headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()))
        };
        match status.as_u16() {
            429 => Retryability::Throttled {
                retry_after: retry_after(),
            },
            503 => match retry_after() {
                Some(d) => Retryability::Throttled {
                    retry_after: Some(d),
                },
                None => Retryability::Transient,
            },
            _ => status.retryability(),
        }
    }
}

impl Retryable for std::io::Error {
    /// Timeouts, resets, refused and aborted connections, broken pipes and interrupts are
    /// transient; everything else is permanent.
    fn retryability(&self) -> Retryability {
        use std::io::ErrorKind::*;
        match self.kind() {
            TimedOut | ConnectionReset | ConnectionRefused | ConnectionAborted | BrokenPipe
            | Interrupted | NotConnected => Retryability::Transient,
            _ => Retryability::Permanent,
        }
    }
}

impl Retryable for tokio::time::error::Elapsed {
    /// A timeout is transient.
    fn retryability(&self) -> Retryability {
        Retryability::Transient
    }
}

impl Retryable for Error {
    /// An unreachable idempotency store is transient; everything else idemgate produces is
    /// final (an open breaker must not be retried into).
    fn retryability(&self) -> Retryability {
        match self {
            Error::Store(crate::StoreError::Unavailable(_)) => Retryability::Transient,
            _ => Retryability::Permanent,
        }
    }
}

#[cfg(feature = "reqwest")]
impl Retryable for reqwest::Error {
    /// Timeouts and connection errors are transient; errors carrying a status use the
    /// status's classification; the rest (builder, decode, redirect) are permanent.
    fn retryability(&self) -> Retryability {
        if self.is_timeout() || self.is_connect() {
            return Retryability::Transient;
        }
        match self.status() {
            Some(s) => s.retryability(),
            None if self.is_request() || self.is_body() => Retryability::Transient,
            None => Retryability::Permanent,
        }
    }
}

/// What a `retry_on` predicate may return: `bool` (`true` = transient) or a [`Retryability`].
pub trait Classification {
    /// Converts to a [`Retryability`].
    fn into_retryability(self) -> Retryability;
}

impl Classification for bool {
    fn into_retryability(self) -> Retryability {
        if self {
            Retryability::Transient
        } else {
            Retryability::Permanent
        }
    }
}

impl Classification for Retryability {
    fn into_retryability(self) -> Retryability {
        self
    }
}

/// Parses a `Retry-After` value: delta-seconds (`"120"`) or an HTTP-date, relative to `now`.
/// A date in the past is zero; anything else unparseable is `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn classifies_status_codes_io_errors_and_responses() {
        use http::StatusCode;
        assert_eq!(
            StatusCode::TOO_MANY_REQUESTS.retryability(),
            Retryability::Throttled { retry_after: None }
        );
        for s in [502, 503, 504] {
            assert_eq!(
                StatusCode::from_u16(s).unwrap().retryability(),
                Retryability::Transient
            );
        }
        for s in [400, 401, 404, 409, 422, 500] {
            assert_eq!(
                StatusCode::from_u16(s).unwrap().retryability(),
                Retryability::Permanent
            );
        }
        let io = |k| std::io::Error::from(k).retryability();
        assert_eq!(io(std::io::ErrorKind::TimedOut), Retryability::Transient);
        assert_eq!(
            io(std::io::ErrorKind::ConnectionReset),
            Retryability::Transient
        );
        assert_eq!(
            io(std::io::ErrorKind::ConnectionRefused),
            Retryability::Transient
        );
        assert_eq!(io(std::io::ErrorKind::NotFound), Retryability::Permanent);
        let resp = http::Response::builder()
            .status(429)
            .header("retry-after", "7")
            .body(())
            .unwrap();
        assert_eq!(
            resp.retryability(),
            Retryability::Throttled {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        let resp = http::Response::builder().status(503).body(()).unwrap();
        assert_eq!(resp.retryability(), Retryability::Transient);
        assert!(true.into_retryability().is_retryable());
        assert!(!false.into_retryability().is_retryable());
    }

    #[test]
    fn parses_retry_after() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
