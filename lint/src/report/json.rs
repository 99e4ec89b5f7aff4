//! The JSON report, schema version 1.
//!
//! ```text
//! {
//!   "version": 1,                       // bumped on any incompatible change
//!   "tool": { "name": "idemgate", "version": "0.1.0" },
//!   "summary": { "files": 12, "errors": 2, "warnings": 1, "infos": 0, "suppressed": 3 },
//!   "findings": [{
//!     "rule": "IDEM001", "name": "missing-idempotency", "severity": "error",
//!     "message": "…", "label": "…", "help": "…" | null,
//!     "file": "src/api.rs", "line": 10, "column": 5, "end_line": 10, "end_column": 17,
//!     "related": [{ "file": "…", "line": 3, "column": 1, "end_line": 3, "end_column": 9, "message": "…" }],
//!     "fingerprint": "16 hex digits, stable when lines shift"
//!   }]
//! }
//! ```
//! Findings are sorted by file, line, column, rule.

use serde_json::{json, Value};

use super::{counts, fingerprints};
use crate::engine::Outcome;
use idemgate_rules::Location;

fn position(l: &Location) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("file".into(), json!(&*l.file));
    m.insert("line".into(), json!(l.line));
    m.insert("column".into(), json!(l.column));
    m.insert("end_line".into(), json!(l.end_line));
    m.insert("end_column".into(), json!(l.end_column));
    m
}

pub fn render(outcome: &Outcome) -> String {
    let (errors, warnings, infos) = counts(outcome);
    let prints = fingerprints(&outcome.findings);
    let findings: Vec<Value> = outcome
        .findings
        .iter()
        .zip(&prints)
        .map(|(f, fp)| {
            let mut m = serde_json::Map::new();
            m.insert("rule".into(), json!(f.rule));
            m.insert("name".into(), json!(f.name));
            m.insert("severity".into(), json!(f.severity.as_str()));
            m.insert("message".into(), json!(f.message));
            m.insert("label".into(), json!(f.label));
            m.insert("help".into(), json!(f.help));
            m.extend(position(&f.location));
            let related: Vec<Value> = f
                .related
                .iter()
                .map(|r| {
                    let mut m = position(&r.location);
                    m.insert("message".into(), json!(r.message));
                    Value::Object(m)
                })
                .collect();
            m.insert("related".into(), Value::Array(related));
            m.insert("fingerprint".into(), json!(fp));
            Value::Object(m)
        })
        .collect();
    let doc = json!({
        "version": 1,
        "tool": { "name": "idemgate", "version": env!("CARGO_PKG_VERSION") },
        "summary": {
            "files": outcome.files_scanned,
            "errors": errors,
            "warnings": warnings,
            "infos": infos,
            "suppressed": outcome.suppressed,
        },
        "findings": findings,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
