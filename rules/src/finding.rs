//! What a rule reports.

use crate::location::Location;
use crate::registry::RuleMeta;

/// How much a finding matters. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" | "note" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" | "deny" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// A secondary location with its own message (e.g. the route registration of a handler).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Label {
    pub location: Location,
    pub message: String,
}

/// One problem, at one place, from one rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
    pub location: Location,
    /// What the primary label says at `location` (short); the message says it in full.
    pub label: String,
    pub related: Vec<Label>,
    pub help: Option<String>,
    /// A stable identity that does not change when lines shift (e.g. a function path or an
    /// operation id): reporters hash it into fingerprints and baselines.
    pub key: String,
    /// For a finding about an OpenAPI operation, its JSON pointer (`#/paths/~1orders/post`):
    /// baselines key OpenAPI findings by it, since it does not change when lines shift.
    #[serde(skip)]
    pub pointer: Option<String>,
}

impl Finding {
    pub fn new(meta: &'static RuleMeta, location: Location, message: impl Into<String>) -> Self {
        Finding {
            rule: meta.id,
            name: meta.name,
            severity: meta.default_severity,
            message: message.into(),
            location,
            label: String::new(),
            related: Vec::new(),
            help: None,
            key: String::new(),
            pointer: None,
        }
    }

    /// The severity a finding gets under a configured severity `sev` for its rule: `sev`,
    /// except that a finding its rule lowered below the rule's default (an IDEM001 note on a
    /// read-only handler) stays at most that low.
    pub fn configured_severity(&self, sev: Severity) -> Severity {
        match crate::registry::find_rule(self.rule) {
            Some(r) if self.severity < r.meta().default_severity => self.severity.min(sev),
            _ => sev,
        }
    }

    /// The short text of the primary label.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn related(mut self, location: Location, message: impl Into<String>) -> Self {
        self.related.push(Label {
            location,
            message: message.into(),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The stable logical identity (see [`Finding::key`]).
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// The JSON pointer of the OpenAPI node the finding is about (see [`Finding::pointer`]).
    pub fn pointer(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }

    /// Every place this finding points at: the primary location, then the related ones.
    /// Suppressions match against any of them.
    pub fn anchors(&self) -> impl Iterator<Item = &Location> {
        std::iter::once(&self.location).chain(self.related.iter().map(|l| &l.location))
    }

    /// The deterministic report order: file, line, column, rule, message.
    pub fn sort_key(&self) -> (&str, u32, u32, &str, &str) {
        (
            &self.location.file,
            self.location.line,
            self.location.column,
            self.rule,
            &self.message,
        )
    }
}
