//! The facts the front-ends extract from sources. Rules read only this.
//!
//! Each front-end owns a sub-model ([`rust`], [`openapi`]); what is shared across them — the
//! exemptions users declared and the files that could not be read — lives here.

pub mod contract;
pub mod keys;
pub mod openapi;
pub mod rust;

use crate::location::Location;

/// Everything known about one scan.
#[derive(Debug, Default)]
pub struct Model {
    pub rust: rust::RustModel,
    pub openapi: openapi::OpenApiModel,
    /// Specs paired with the code that serves them, and how their operations and routes match.
    pub contracts: contract::ContractModel,
    /// Idempotency keys composed from pieces (IDEM005).
    pub key_compositions: Vec<keys::KeyComposition>,
    /// Declared exemptions from every source (attributes, comments, OpenAPI, config).
    pub exemptions: Vec<Exemption>,
    /// Files the gate could not read or parse; reported, never fatal to the run.
    pub file_errors: Vec<FileError>,
    /// Problems inside files that were otherwise checked (an unresolvable `$ref`, say).
    pub reference_errors: Vec<FileError>,
}

/// Where an exemption came from; decides how it is reported and what it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExemptionOrigin {
    /// `#[exempt(ID, reason = "…")]` on an item.
    Attribute,
    /// `// idemgate: allow(ID) reason: …` on the line before a statement.
    Comment,
    /// `x-idemgate-ignore` or `x-idempotency: {strategy: none}` in an OpenAPI document.
    OpenApi,
    /// An `[[exemptions]]` entry in the config file.
    Config,
}

/// What an exemption covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExemptionScope {
    /// Lines `start..=end` of `file` (an item, a statement, an operation).
    Lines {
        file: std::sync::Arc<str>,
        start: u32,
        end: u32,
    },
    /// Files matching a glob (config), optionally only findings whose key matches.
    Glob {
        pattern: String,
        key: Option<String>,
    },
}

/// A declared exemption: `rule` does not apply within `scope`, because `reason`.
#[derive(Debug, Clone)]
pub struct Exemption {
    pub rule: String,
    pub reason: Option<String>,
    pub origin: ExemptionOrigin,
    /// Where the exemption itself is written (reported by IDEM003/IDEM004).
    pub location: Location,
    pub scope: ExemptionScope,
    /// Whether IDEM004 reports it when it matches nothing. Implicit exemptions (an OpenAPI
    /// `strategy: none` at the root, say) set this to false.
    pub report_unused: bool,
}

impl Exemption {
    /// An exemption counts only with a non-blank reason (IDEM003 otherwise).
    pub fn has_reason(&self) -> bool {
        self.reason.as_deref().is_some_and(|r| !r.trim().is_empty())
    }
}

/// A file that could not be read or parsed. `location` points at the error where known.
#[derive(Debug, Clone)]
pub struct FileError {
    pub file: std::sync::Arc<str>,
    pub location: Option<Location>,
    pub message: String,
}
