//! Facts extracted from OpenAPI documents (operations, their idempotency declarations,
//! parameters and responses). Every fact carries the location of the key it came from, in the
//! file where that key stands (a `$ref`'d parameter points at its definition).

use std::collections::HashMap;

use crate::finding::Finding;
use crate::location::Location;

/// Everything the OpenAPI front-end extracted from the scanned documents.
#[derive(Debug, Default)]
pub struct OpenApiModel {
    pub documents: Vec<ApiDocument>,
    /// Operations of every document (paths and, in 3.1, webhooks), in document order.
    pub operations: Vec<Operation>,
}

/// Which OpenAPI dialect a document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecVersion {
    /// `swagger: "2.0"`.
    Swagger2,
    /// `openapi: 3.0.x`.
    OpenApi30,
    /// `openapi: 3.1.x` (and later 3.x).
    OpenApi31,
}

impl SpecVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            SpecVersion::Swagger2 => "2.0",
            SpecVersion::OpenApi30 => "3.0",
            SpecVersion::OpenApi31 => "3.1",
        }
    }
}

/// One OpenAPI document (its root file; `$ref`'d files belong to it).
#[derive(Debug, Clone)]
pub struct ApiDocument {
    /// The root file, relative to the scan root.
    pub file: std::sync::Arc<str>,
    pub version: SpecVersion,
    /// The document-wide `x-idempotency` default, if any.
    pub strategy: Option<Strategy>,
    /// The path prefix of the first `servers` URL (3.x) or `basePath` (2.0), e.g. `/v1`;
    /// `None` when the spec names no prefix.
    pub base_path: Option<String>,
    /// The document's operations: this range of [`OpenApiModel::operations`].
    pub operations: std::ops::Range<usize>,
}

/// One operation: a method under a path (or a 3.1 webhook).
#[derive(Debug, Clone)]
pub struct Operation {
    /// Upper-case HTTP method.
    pub method: String,
    /// The path template (`/v1/charges/{id}`), or the webhook name.
    pub path: String,
    pub operation_id: Option<String>,
    /// Where the operation is written: its method key (`post:`), or, for an operation brought
    /// in by a `$ref`, the key the pointer names or the first key of the file that holds it.
    pub location: Location,
    /// The `$ref`s that brought the operation in (a path item's, the operation's own), outermost
    /// first; empty for an operation written inline. Findings list them as related locations.
    pub referenced_at: Vec<Location>,
    /// The operation's `responses` key, if it has one.
    pub responses_location: Option<Location>,
    /// A top-level 3.1 `webhooks` entry: a request the API sends, not one it receives.
    pub is_webhook: bool,
    pub version: SpecVersion,
    /// Idempotency-like header parameters (operation or path level, resolved through `$ref`).
    pub key_headers: Vec<KeyHeader>,
    /// A request-body property that carries the key (`idempotency_key`, `idempotencyKey`).
    pub body_key: Option<BodyKey>,
    /// The effective `x-idempotency` declaration: the operation's own, else the path item's,
    /// else the document's.
    pub strategy: Option<Strategy>,
    pub responses: Vec<Response>,
    /// `$ref`s of this operation that could not be resolved (remote, missing, refused): the
    /// facts above may be incomplete.
    pub unresolved_refs: Vec<Location>,
}

impl Operation {
    /// The stable identity of the operation in findings: its `operationId`, else `METHOD path`.
    pub fn key(&self) -> String {
        match &self.operation_id {
            Some(id) => id.clone(),
            None => self.display_name(),
        }
    }

    /// The operation's JSON pointer in its document: `#/paths/~1v1~1charges/post` (or
    /// `#/webhooks/newPet/post`). Line-independent: baselines key OpenAPI findings by it.
    pub fn pointer(&self) -> String {
        let escaped = self.path.replace('~', "~0").replace('/', "~1");
        let section = if self.is_webhook { "webhooks" } else { "paths" };
        format!("#/{section}/{escaped}/{}", self.method.to_ascii_lowercase())
    }

    /// `POST /v1/charges` (or `webhook POST newPet`).
    pub fn display_name(&self) -> String {
        if self.is_webhook {
            format!("webhook {} {}", self.method, self.path)
        } else {
            format!("{} {}", self.method, self.path)
        }
    }

    /// The standard key header (`Idempotency-Key`, or one accepted in the config), if any.
    pub fn standard_key_header(&self) -> Option<&KeyHeader> {
        self.key_headers.iter().find(|h| h.standard)
    }

    /// Whether the operation accepts an idempotency key: a key header of any spelling, a body
    /// key property, or `x-idempotency: {strategy: key}`.
    pub fn takes_key(&self) -> bool {
        !self.key_headers.is_empty()
            || self.body_key.is_some()
            || self
                .strategy
                .as_ref()
                .is_some_and(|s| s.kind == StrategyKind::Key)
    }

    /// The effective retention window: the operation's strategy (or the document's default).
    pub fn retention(&self) -> Option<&Retention> {
        self.strategy.as_ref().and_then(|s| s.retention.as_ref())
    }

    pub fn has_response(&self, code: &str) -> bool {
        self.responses.iter().any(|r| r.code == code)
    }

    /// Whether the operation documents the idempotency conflicts: a `409` or `422` response,
    /// or a `4XX`/`default` one that says it covers them.
    pub fn documents_conflicts(&self) -> bool {
        self.has_response("409")
            || self.has_response("422")
            || self.responses.iter().any(|r| r.documents_conflict)
    }

    /// Adds the `$ref`s that brought the operation in as related locations of `f`.
    pub fn with_references(&self, mut f: Finding) -> Finding {
        for at in &self.referenced_at {
            f = f.related(
                at.clone(),
                format!("{} is referenced here", self.display_name()),
            );
        }
        f
    }
}

/// A header parameter that carries an idempotency key.
#[derive(Debug, Clone)]
pub struct KeyHeader {
    /// The header name as written.
    pub name: String,
    /// The parameter's `name` key, where it is defined (in the component, for a `$ref`).
    pub location: Location,
    /// The `$ref` that brought the parameter into the operation, if it was referenced.
    pub referenced_at: Option<Location>,
    /// The JSON pointer (with file) of the definition, for a referenced parameter.
    pub definition: Option<String>,
    /// `Idempotency-Key` in any case, or a name accepted in the config.
    pub standard: bool,
    /// Declared at the path item rather than the operation.
    pub path_level: bool,
    pub schema: KeySchema,
}

/// What the key parameter's schema says about its values (OAS006).
#[derive(Debug, Clone)]
pub struct KeySchema {
    /// The `schema` key (3.x) or the parameter's `name` key (2.0, which has no `schema`).
    pub location: Location,
    /// The declared `type`s (3.1 allows a list); empty when none is declared.
    pub types: Vec<String>,
    pub max_length: Option<u64>,
}

impl KeySchema {
    pub fn is_string(&self) -> bool {
        self.types.iter().any(|t| t == "string")
            && self.types.iter().all(|t| t == "string" || t == "null")
    }
}

/// A request-body property that carries the key.
#[derive(Debug, Clone)]
pub struct BodyKey {
    pub name: String,
    /// The property key (or, for a 2.0 `formData` parameter, its name).
    pub location: Location,
    /// The property's schema; its `location` is the property key.
    pub schema: KeySchema,
}

/// The kinds of `x-idempotency.strategy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrategyKind {
    Key,
    NaturalKey,
    Conditional,
    None,
    /// `x-idempotency` without a `strategy` (it may still give `retention` or `header`).
    Unspecified,
    /// A value that is not one of the above (reported by OAS001).
    Unknown(String),
}

impl StrategyKind {
    pub fn parse(s: &str) -> StrategyKind {
        match s.trim().to_ascii_lowercase().as_str() {
            "key" => StrategyKind::Key,
            "natural-key" | "natural_key" => StrategyKind::NaturalKey,
            "conditional" => StrategyKind::Conditional,
            "none" => StrategyKind::None,
            _ => StrategyKind::Unknown(s.to_string()),
        }
    }

    /// Whether the strategy makes the operation safe to retry.
    pub fn declares_idempotency(&self) -> bool {
        matches!(
            self,
            StrategyKind::Key | StrategyKind::NaturalKey | StrategyKind::Conditional
        )
    }
}

/// An `x-idempotency` declaration.
#[derive(Debug, Clone)]
pub struct Strategy {
    pub kind: StrategyKind,
    /// The `x-idempotency` key.
    pub location: Location,
    /// Where the strategy was declared: `operation`, `path item` or `document`.
    pub level: StrategyLevel,
    /// `header:` — the key header the strategy names.
    pub header: Option<(String, Location)>,
    pub reason: Option<String>,
    pub retention: Option<Retention>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyLevel {
    Operation,
    PathItem,
    Document,
}

/// Whether a header name is used for idempotency keys: `Idempotency-Key` in any spelling
/// (`X-Idempotency-Key`, `Idempotency-Token`, `Cko-Idempotency-Key`, …) or one of the known
/// vendor names (`PayPal-Request-Id`, `Repeatability-Request-ID`).
pub fn is_idempotency_like_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("idempoten")
        || matches!(
            n.as_str(),
            "paypal-request-id"
                | "repeatability-request-id"
                | "x-dedupe-key"
                | "x-deduplication-id"
        )
}

/// Whether a header name is the standard `Idempotency-Key` (any case).
pub fn is_standard_key_header(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case("idempotency-key")
}

/// `retention: 24h` (or `15m`, `7d`, ISO 8601 `P1D`, `PT12H`).
#[derive(Debug, Clone)]
pub struct Retention {
    pub text: String,
    pub location: Location,
    /// The window in seconds; `None` when the text is not a duration.
    pub seconds: Option<u64>,
}

/// One documented response of an operation.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code key as written (`201`, `4XX`, `default`).
    pub code: String,
    /// The code key in the operation.
    pub location: Location,
    /// Where the response object is defined, when it is a `$ref` (its component key).
    pub definition: Option<Location>,
    /// The pointer of the definition, for a referenced response (a stable finding key).
    pub definition_pointer: Option<String>,
    pub has_retry_after: bool,
    /// A `4XX` or `default` response whose description or problem type names the idempotency
    /// conflicts (409 in flight, 422 reused key): it counts as documenting them (OAS003).
    pub documents_conflict: bool,
}

/// Collects the findings of one rule so that a finding on a shared definition (a component
/// parameter, a shared response file, a root-level `x-idempotency`) is reported once, with
/// every use as a related location, instead of once per operation.
#[derive(Default)]
pub struct Reported {
    /// Primary location → index in the output (one finding of a rule per place: an operation
    /// file shared by two paths is one finding too, naming the first and listing both).
    index: HashMap<Location, usize>,
    /// Related locations already on each output finding (uses are listed once each).
    related: std::collections::HashSet<(usize, Location, String)>,
}

impl Reported {
    pub fn push(&mut self, out: &mut Vec<Finding>, f: Finding) {
        let id = f.location.clone();
        let i = match self.index.get(&id) {
            Some(i) => *i,
            None => {
                let i = out.len();
                self.index.insert(id, i);
                for r in &f.related {
                    self.related
                        .insert((i, r.location.clone(), r.message.clone()));
                }
                out.push(f);
                return;
            }
        };
        let Some(first) = out.get_mut(i) else {
            return;
        };
        for r in f.related {
            if self
                .related
                .insert((i, r.location.clone(), r.message.clone()))
            {
                first.related.push(r);
            }
        }
    }
}

/// Parses a retention window: `24h`, `15m`, `30s`, `7d`, `2w`, compounds (`1h30m`), or an ISO
/// 8601 duration (`P1D`, `PT24H`, `P1DT12H`), in seconds. See [`crate::duration`].
pub fn parse_retention_seconds(text: &str) -> Option<u64> {
    crate::duration::parse_seconds(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_windows() {
        assert_eq!(parse_retention_seconds("24h"), Some(86_400));
        assert_eq!(parse_retention_seconds("15m"), Some(900));
        assert_eq!(parse_retention_seconds("7d"), Some(604_800));
        assert_eq!(parse_retention_seconds("1h30m"), Some(5_400));
        assert_eq!(parse_retention_seconds("P1D"), Some(86_400));
        assert_eq!(parse_retention_seconds("PT24H"), Some(86_400));
        assert_eq!(parse_retention_seconds("P1DT12H"), Some(129_600));
        assert_eq!(parse_retention_seconds("PT15M"), Some(900));
        assert_eq!(parse_retention_seconds("P"), None);
        assert_eq!(parse_retention_seconds("PT"), None);
        assert_eq!(parse_retention_seconds("P1Y"), None);
        assert_eq!(parse_retention_seconds("forever"), None);
        assert_eq!(parse_retention_seconds("24"), None);
        assert_eq!(parse_retention_seconds(""), None);
    }

    #[test]
    fn a_shared_definition_is_reported_once_with_every_use() {
        use crate::rules::oas004::META;
        use std::sync::Arc;
        let at = |file: &str, line: u32| Location {
            line,
            end_line: line,
            ..Location::file_start(Arc::from(file))
        };
        let mut out = Vec::new();
        let mut reported = Reported::default();
        for (line, op) in [(3, "GET /a"), (9, "POST /b"), (3, "GET /a")] {
            let f = Finding::new(&META, at("shared.yaml", 1), "no Retry-After")
                .related(at("api.yaml", line), format!("used by {op}"));
            reported.push(&mut out, f);
        }
        reported.push(
            &mut out,
            Finding::new(&META, at("other.yaml", 1), "no Retry-After"),
        );
        assert_eq!(out.len(), 2);
        let uses: Vec<u32> = out[0].related.iter().map(|r| r.location.line).collect();
        assert_eq!(uses, [3, 9]);
    }

    #[test]
    fn strategy_kinds() {
        assert_eq!(StrategyKind::parse("Key"), StrategyKind::Key);
        assert_eq!(StrategyKind::parse("natural-key"), StrategyKind::NaturalKey);
        assert!(!StrategyKind::parse("none").declares_idempotency());
        assert!(matches!(
            StrategyKind::parse("maybe"),
            StrategyKind::Unknown(_)
        ));
    }
}
