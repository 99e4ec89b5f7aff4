//! The framework-neutral half of the idempotency protocol: request fingerprints, the stored
//! response format (shared by axum, actix-web and poem, so a fleet mixing them can share a
//! store), and the problem each refusal answers with.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Problem;
use crate::idempotency::{BodyFingerprint, Fingerprint};
use crate::Error;

/// The fingerprint of a request: method, path and query, and the body (a JSON body by its
/// canonical form, or only some fields of it).
pub(crate) fn fingerprint(
    mode: &BodyFingerprint,
    method: &str,
    target: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Fingerprint {
    let (form, body_input) = mode.input(content_type, body);
    Fingerprint::of_parts(&[
        method.as_bytes(),
        target.as_bytes(),
        form.as_bytes(),
        &body_input,
    ])
}

/// The problem an idempotency refusal answers with (a store failure is logged).
pub(crate) fn problem_for(header: &str, error: Error) -> Problem {
    match error {
        Error::InFlight => Problem::in_flight(),
        Error::Mismatch => Problem::mismatch(),
        Error::InvalidKey(why) => Problem::invalid_key(header, why),
        Error::Store(error) => {
            tracing::error!(target: "idemgate", %error, "idempotency store failed; request not executed");
            Problem::store_unavailable()
        }
        error => {
            tracing::error!(target: "idemgate", %error, "idempotency failed");
            Problem::internal()
        }
    }
}

/// Why a response is not stored.
pub(crate) enum Failure<R> {
    /// Sent as is, key released: a 5xx (the client may retry) or an unreadable body.
    NotStored(R),
    /// The protocol answered instead of the handler.
    Idempotency(Error),
}

impl<R> From<Error> for Failure<R> {
    fn from(error: Error) -> Self {
        Failure::Idempotency(error)
    }
}

/// Hop-by-hop and per-response headers that a replay must not repeat (lowercase).
const NOT_REPLAYED: &[&str] = &[
    "connection",
    "transfer-encoding",
    "content-length",
    "date",
    "set-cookie",
    "te",
    "trailer",
    "upgrade",
    "proxy-authenticate",
    "keep-alive",
];

/// The header set on a replayed response, lowercase.
pub(crate) const REPLAYED_LOWER: &str = "idempotent-replayed";

/// Header names (lowercase) and values of a stored response.
pub(crate) type StoredHeaders = Vec<(String, Vec<u8>)>;

/// A response as stored for replay.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredResponse {
    status: u16,
    headers: StoredHeaders,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    binary: Option<Vec<u8>>,
}

impl StoredResponse {
    /// Captures a response: the headers worth replaying and the body.
    pub(crate) fn new<'a>(
        status: u16,
        headers: impl Iterator<Item = (&'a str, &'a [u8])>,
        body: Vec<u8>,
    ) -> Self {
        let headers = headers
            .filter(|(name, _)| !NOT_REPLAYED.iter().any(|n| name.eq_ignore_ascii_case(n)))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_vec()))
            .collect();
        let (text, binary) = match String::from_utf8(body) {
            Ok(text) => (Some(text), None),
            Err(error) => (None, Some(error.into_bytes())),
        };
        StoredResponse {
            status,
            headers,
            text,
            binary,
        }
    }

    /// Status, headers and body.
    pub(crate) fn into_parts(self) -> (u16, StoredHeaders, Vec<u8>) {
        let body = match (self.text, self.binary) {
            (Some(text), _) => text.into_bytes(),
            (None, Some(binary)) => binary,
            (None, None) => Vec::new(),
        };
        (self.status, self.headers, body)
    }
}

/// The label a missing/invalid-key problem names.
pub(crate) type HeaderLabel = Cow<'static, str>;

/// The caller a request acts for (tenant, account, principal). Idempotency keys are scoped by
/// it, so one caller can never receive another's stored response.
///
/// Put it in the request extensions from your authentication middleware, or let the
/// protocol's `scope_header` read it from a header. As an axum extractor it answers 401 when
/// absent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Principal(pub Arc<str>);

impl Principal {
    /// A principal with this identity.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Principal(id.into())
    }

    /// The identity.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
