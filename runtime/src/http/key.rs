//! The `Idempotency-Key` request header (IETF draft-ietf-httpapi-idempotency-key-header): an
//! RFC 8941 sf-string (`"…"`), or for compatibility a bare token.

#[cfg(feature = "axum")]
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
#[cfg(feature = "axum")]
use http::request::Parts;
use http::{HeaderMap, HeaderName};

#[cfg(feature = "axum")]
use super::Problem;
use crate::idempotency::MAX_KEY_LEN;

/// The standard header name.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The client-chosen key of a request, validated: 1–255 printable ASCII bytes.
///
/// As an extractor it answers 400 (problem+json) when the header is missing or invalid;
/// `Option<IdempotencyKey>` accepts a missing header and still rejects an invalid one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key, unquoted.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses one header value: `"sf-string"` (with `\"` and `\\` escapes) or a bare token.
    pub fn parse(value: &[u8]) -> Result<Self, KeyError> {
        let value = trim_ows(value);
        let key = if let Some(quoted) = value.strip_prefix(b"\"") {
            let Some(inner) = quoted.strip_suffix(b"\"") else {
                return Err(KeyError::Malformed("the quoted string is not closed"));
            };
            let mut out = Vec::with_capacity(inner.len());
            let mut bytes = inner.iter();
            while let Some(&b) = bytes.next() {
                match b {
                    b'\\' => match bytes.next() {
                        Some(&escaped @ (b'"' | b'\\')) => out.push(escaped),
                        _ => {
                            return Err(KeyError::Malformed(
                                "only \\\" and \\\\ may be escaped in a quoted string",
                            ))
                        }
                    },
                    b'"' => {
                        return Err(KeyError::Malformed(
                            "a quote inside the string must be escaped",
                        ))
                    }
                    0x20..=0x7e => out.push(b),
                    _ => return Err(KeyError::NotPrintable),
                }
            }
            out
        } else {
            if value.iter().any(|&b| !(0x21..=0x7e).contains(&b)) {
                return Err(if value.iter().any(|&b| b == b' ' || b == b'\t') {
                    KeyError::Malformed("a key with spaces must be a quoted string")
                } else {
                    KeyError::NotPrintable
                });
            }
            value.to_vec()
        };
        if key.is_empty() {
            return Err(KeyError::Empty);
        }
        if key.len() > MAX_KEY_LEN {
            return Err(KeyError::TooLong(key.len()));
        }
        // Every byte is printable ASCII here, so this cannot fail.
        String::from_utf8(key)
            .map(IdempotencyKey)
            .map_err(|_| KeyError::NotPrintable)
    }

    /// Reads `name` from `headers`: `Ok(None)` when absent; more than one value is an error.
    pub fn from_headers(headers: &HeaderMap, name: &HeaderName) -> Result<Option<Self>, KeyError> {
        Self::from_values(headers.get_all(name).iter().map(|v| v.as_bytes()))
    }

    /// The key from all values of its header, in any framework's header map: `Ok(None)`
    /// when there is none; more than one value is an error.
    pub fn from_values<'a>(
        mut values: impl Iterator<Item = &'a [u8]>,
    ) -> Result<Option<Self>, KeyError> {
        let Some(first) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(KeyError::Repeated);
        }
        Self::parse(first).map(Some)
    }
}

fn trim_ows(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// Why an `Idempotency-Key` header was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// Empty, or `""`.
    Empty,
    /// Longer than 255 bytes.
    TooLong(usize),
    /// A byte outside printable ASCII.
    NotPrintable,
    /// Not an sf-string nor a token.
    Malformed(&'static str),
    /// The header appears more than once.
    Repeated,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::Empty => f.write_str("it is empty"),
            KeyError::TooLong(len) => write!(f, "it is {len} bytes long (at most {MAX_KEY_LEN})"),
            KeyError::NotPrintable => f.write_str("it contains a byte that is not printable ASCII"),
            KeyError::Malformed(why) => f.write_str(why),
            KeyError::Repeated => f.write_str("the header is sent more than once"),
        }
    }
}

impl std::error::Error for KeyError {}

#[cfg(feature = "axum")]
fn standard_name() -> HeaderName {
    HeaderName::from_static("idempotency-key")
}

#[cfg(feature = "axum")]
impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match IdempotencyKey::from_headers(&parts.headers, &standard_name()) {
            Ok(Some(key)) => Ok(key),
            Ok(None) => Err(Problem::missing_key(IDEMPOTENCY_KEY)),
            Err(why) => Err(Problem::invalid_key(IDEMPOTENCY_KEY, why)),
        }
    }
}

#[cfg(feature = "axum")]
impl<S: Send + Sync> OptionalFromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        IdempotencyKey::from_headers(&parts.headers, &standard_name())
            .map_err(|why| Problem::invalid_key(IDEMPOTENCY_KEY, why))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{IdempotencyKey, KeyError};

    fn parse(v: &str) -> Result<String, KeyError> {
        IdempotencyKey::parse(v.as_bytes()).map(|k| k.as_str().to_owned())
    }

    #[test]
    fn sf_string_and_token() {
        assert_eq!(
            parse("\"8e03978e-40d5-43e8-bc93-6894a57f9324\"").unwrap(),
            "8e03978e-40d5-43e8-bc93-6894a57f9324"
        );
        assert_eq!(parse("order-42").unwrap(), "order-42");
        assert_eq!(parse("  order-42 ").unwrap(), "order-42");
        assert_eq!(
            parse("\"with space \\\"q\\\" \\\\\"").unwrap(),
            "with space \"q\" \\"
        );
    }

    #[test]
    fn rejects_invalid() {
        assert_eq!(parse(""), Err(KeyError::Empty));
        assert_eq!(parse("\"\""), Err(KeyError::Empty));
        assert_eq!(parse(&"a".repeat(256)), Err(KeyError::TooLong(256)));
        assert!(parse(&"a".repeat(255)).is_ok());
        assert!(matches!(parse("\"open"), Err(KeyError::Malformed(_))));
        assert!(matches!(parse("two words"), Err(KeyError::Malformed(_))));
        assert!(matches!(
            parse("\"bad \\n escape\""),
            Err(KeyError::Malformed(_))
        ));
        assert_eq!(
            IdempotencyKey::parse(b"caf\xc3\xa9"),
            Err(KeyError::NotPrintable)
        );
    }
}
