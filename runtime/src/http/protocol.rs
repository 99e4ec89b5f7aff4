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

/// The framework-neutral part of each framework's `Idempotency` builder (axum, actix-web,
/// poem): the settings, their defaults and setters. Each framework module defines `ScopeFn`
/// (a function of its request type) and adds `scope_with`/`scope_of` itself.
macro_rules! idempotency_builder {
    ($(#[$doc:meta])*) => {
        #[derive(Clone)]
        enum ScopeSource {
            /// The [`Principal`] in the request extensions.
            Principal,
            /// A request header (demo auth, gateways that inject the tenant).
            Header(HeaderName),
            /// A function of the request.
            With(Arc<ScopeFn>),
            /// No caller scope: every caller shares the key space (`scope = none`).
            Shared,
        }

        $(#[$doc])*
        #[derive(Clone)]
        pub struct Idempotency {
            store: Option<Arc<dyn IdempotencyStore>>,
            header: HeaderName,
            header_label: HeaderLabel,
            scope: ScopeSource,
            operation: Cow<'static, str>,
            options: Options,
            max_body: usize,
            required: bool,
            body_fingerprint: BodyFingerprint,
        }

        impl Default for Idempotency {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Debug for Idempotency {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("Idempotency")
                    .field("header", &self.header)
                    .field("operation", &self.operation)
                    .field("options", &self.options)
                    .field("max_body", &self.max_body)
                    .field("required", &self.required)
                    .field("body_fingerprint", &self.body_fingerprint)
                    .finish_non_exhaustive()
            }
        }

        impl Idempotency {
            /// Defaults: header `Idempotency-Key` (required), caller from the [`Principal`]
            /// extension, the process-wide default store, retention 24 h, lease 60 s, bodies
            /// up to 1 MiB.
            pub fn new() -> Self {
                Idempotency {
                    store: None,
                    header: HeaderName::from_static("idempotency-key"),
                    header_label: Cow::Borrowed(IDEMPOTENCY_KEY),
                    scope: ScopeSource::Principal,
                    operation: Cow::Borrowed("http"),
                    options: Options::new(),
                    max_body: 1 << 20,
                    required: true,
                    body_fingerprint: BodyFingerprint::Canonical,
                }
            }

            /// The operation name keys are scoped by (besides the caller).
            pub fn operation(mut self, name: impl Into<Cow<'static, str>>) -> Self {
                self.operation = name.into();
                self
            }

            /// Reads the key from another header.
            ///
            /// # Panics
            /// If `name` is not a valid header name (a programming error; the attribute checks
            /// it at compile time).
            pub fn header(mut self, name: &'static str) -> Self {
                match HeaderName::from_bytes(name.as_bytes()) {
                    Ok(header) => {
                        self.header = header;
                        self.header_label = Cow::Borrowed(name);
                    }
                    Err(_) => panic!("{name:?} is not a valid header name"),
                }
                self
            }

            /// Scopes keys by the value of a request header (e.g. `X-Tenant`); a request
            /// without it gets 401.
            ///
            /// # Panics
            /// If `name` is not a valid header name.
            pub fn scope_header(mut self, name: &'static str) -> Self {
                match HeaderName::from_bytes(name.as_bytes()) {
                    Ok(header) => self.scope = ScopeSource::Header(header),
                    Err(_) => panic!("{name:?} is not a valid header name"),
                }
                self
            }

            /// Scopes keys by the [`Principal`] your authentication layer puts in the request
            /// extensions (the default, spelled out: `#[idempotent(scope = principal)]`); a
            /// request without one gets 401 `caller-unidentified`.
            pub fn scope_principal(mut self) -> Self {
                self.scope = ScopeSource::Principal;
                self
            }

            /// No caller scope: every caller shares one key space, so a caller that sends
            /// another's key gets that caller's stored response. For services whose callers
            /// all act for the same party (one internal client, a single-tenant service);
            /// what `#[idempotent(scope = none)]` sets.
            pub fn scope_none(mut self) -> Self {
                self.scope = ScopeSource::Shared;
                self
            }

            /// The 401 for a request whose caller the scope cannot find, saying what it lacks.
            fn unidentified(&self) -> Problem {
                match &self.scope {
                    ScopeSource::Header(name) => Problem::unidentified_caller_because(
                        format_args!("send the `{name}` header"),
                    ),
                    ScopeSource::Principal => Problem::unidentified_caller_because(
                        "no `idemgate::http::Principal` in the request extensions; an authentication layer inserts it (or scope the keys with `scope = header(..)` or `scope = none`)",
                    ),
                    ScopeSource::With(_) | ScopeSource::Shared => Problem::unidentified_caller(),
                }
            }

            /// Uses this store instead of the process-wide default.
            pub fn store(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
                self.store = Some(store);
                self
            }

            /// How long completed responses are replayed (default 24 h).
            pub fn retention(mut self, retention: Duration) -> Self {
                self.options.retention = retention;
                self
            }

            /// How long an execution holds its key before a crashed one may be taken over
            /// (60 s).
            pub fn lease(mut self, lease: Duration) -> Self {
                self.options.lease = lease;
                self
            }

            /// Opt-in: a duplicate that arrives while the first runs waits up to `wait` for
            /// its response instead of getting 409.
            pub fn wait(mut self, wait: Duration) -> Self {
                self.options.wait = Some(wait);
                self
            }

            /// The largest request or response body handled (default 1 MiB); larger requests
            /// get 413.
            pub fn max_body(mut self, bytes: usize) -> Self {
                self.max_body = bytes;
                self
            }

            /// Fingerprints only these top-level fields of a JSON body (plus method, path and
            /// query): a retry that changes another field (a client timestamp, a trace id)
            /// replays instead of getting 422. What
            /// `#[idempotent(fingerprint = fields("amount", "currency"))]` sets.
            pub fn fingerprint_fields<I, S>(mut self, fields: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: Into<Cow<'static, str>>,
            {
                self.body_fingerprint = BodyFingerprint::fields(fields);
                self
            }

            /// How the body enters the fingerprint (default [`BodyFingerprint::Canonical`]).
            pub fn body_fingerprint(mut self, mode: BodyFingerprint) -> Self {
                self.body_fingerprint = mode;
                self
            }

            /// Lets requests without a key through, unprotected (default: they get 400).
            pub fn optional(mut self) -> Self {
                self.required = false;
                self
            }
        }
    };
}
pub(crate) use idempotency_builder;
