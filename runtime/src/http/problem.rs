//! RFC 9457 problem details (`application/problem+json`) for the errors idempotency answers.

#[cfg(feature = "axum")]
use axum::response::{IntoResponse, Response};
use http::StatusCode;
#[cfg(feature = "axum")]
use http::{header, HeaderValue};
use serde::Serialize;

/// An RFC 9457 problem: what went wrong with a request, machine-readable (`type`) and
/// human-readable (`title`, `detail`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A URI identifying the kind of problem (`urn:idemgate:problem:…`).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// Seconds after which a retry may succeed (sent as `Retry-After` too).
    #[serde(skip)]
    pub retry_after: Option<u32>,
}

impl Problem {
    /// A problem of kind `urn:idemgate:problem:{slug}`.
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:idemgate:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// Adds `Retry-After: seconds`.
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// 400: the request needs an `Idempotency-Key` and has none.
    pub fn missing_key(header: &str) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "idempotency-key-missing",
            "Idempotency key required",
            format!("this operation has side effects; send a unique `{header}` header (reuse it when you retry)"),
        )
    }

    /// 400: the `Idempotency-Key` is not acceptable.
    pub fn invalid_key(header: &str, why: impl std::fmt::Display) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "idempotency-key-invalid",
            "Invalid idempotency key",
            format!("`{header}` is invalid: {why}; send 1-255 printable ASCII characters, as a token or a quoted string"),
        )
    }

    /// 401: keys are scoped by caller, and the caller is unknown.
    pub fn unidentified_caller() -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "caller-unidentified",
            "Caller not identified",
            "idempotency keys are scoped by caller, and this request does not identify one",
        )
    }

    /// 401 with what the request lacks: the header named by the scope, or the `Principal` an
    /// authentication layer inserts.
    pub fn unidentified_caller_because(why: impl std::fmt::Display) -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "caller-unidentified",
            "Caller not identified",
            format!("idempotency keys are scoped by caller, and this request does not identify one: {why}"),
        )
    }

    /// 409: the first request with this key is still being executed.
    pub fn in_flight() -> Self {
        Problem::new(
            StatusCode::CONFLICT,
            "idempotency-request-in-flight",
            "Request in flight",
            "a request with this idempotency key is still being processed; retry later to receive its result",
        )
        .retry_after(1)
    }

    /// 422: the key was used before with another request.
    pub fn mismatch() -> Self {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "Idempotency key reused",
            "this idempotency key was already used with a different request (method, path or body); use a new key for a new request",
        )
    }

    /// 503: the idempotency store is unreachable, so nothing was executed.
    pub fn store_unavailable() -> Self {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "idempotency-store-unavailable",
            "Idempotency store unavailable",
            "the request was not executed because its idempotency key could not be recorded; retry with the same key",
        )
        .retry_after(1)
    }

    /// 413: the body is larger than what can be fingerprinted.
    pub fn too_large(limit: usize) -> Self {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("an idempotent request body may be at most {limit} bytes"),
        )
    }

    /// 500: something inside idemgate failed; the detail is logged, not sent.
    pub fn internal() -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the request could not be completed",
        )
    }
}

impl Problem {
    /// The `application/problem+json` body.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The status as a number a framework's own status type accepts (500 if out of range).
    pub fn status_code(&self) -> u16 {
        StatusCode::from_u16(self.status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .as_u16()
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.title, self.status, self.detail)
    }
}

impl std::error::Error for Problem {}

/// The media type of every problem.
pub const PROBLEM_JSON: &str = "application/problem+json";

#[cfg(feature = "axum")]
impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = self.to_json();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
