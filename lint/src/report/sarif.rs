//! SARIF 2.1.0, as GitHub code scanning ingests it: the full rule catalog in
//! `tool.driver.rules` (descriptions and help from each rule's docs), results with a relative
//! `artifactLocation.uri`, a full region, related locations, and `partialFingerprints` that do
//! not change when lines shift.

use serde_json::{json, Value};

use super::fingerprints;
use crate::engine::Outcome;
use idemgate_rules::{all_rules, Location, Severity};

const INFORMATION_URI: &str = "https://github.com/idemgate/idemgate";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Percent-encodes what a relative URI reference may not hold as is.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn physical(l: &Location) -> Value {
    json!({
        "artifactLocation": { "uri": uri(&l.file), "uriBaseId": "%SRCROOT%" },
        "region": {
            "startLine": l.line.max(1),
            "startColumn": l.column.max(1),
            "endLine": l.end_line.max(l.line).max(1),
            "endColumn": l.end_column.max(1),
        }
    })
}

/// The first paragraph of a rule's `## Why` section: SARIF `fullDescription`.
fn full_description(docs: &str) -> String {
    docs.split("## Why")
        .nth(1)
        .unwrap_or(docs)
        .trim_start()
        .split("\n\n")
        .next()
        .unwrap_or("")
        .replace('\n', " ")
        .trim()
        .to_string()
}

/// The family a rule belongs to, from its id prefix: a SARIF tag code scanning can filter on.
fn category(id: &str) -> &'static str {
    if id.starts_with("IDEM") {
        "idempotency"
    } else if id.starts_with("RETRY") {
        "retry"
    } else if id.starts_with("OAS") {
        "openapi"
    } else {
        "gate"
    }
}

fn sentence(summary: &str) -> String {
    let mut chars = summary.chars();
    match chars.next() {
        Some(c) => format!("{}{}", c.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

pub fn render(outcome: &Outcome) -> String {
    let rules: Vec<Value> = all_rules()
        .iter()
        .map(|r| {
            let m = r.meta();
            json!({
                "id": m.id,
                "name": m.name,
                "shortDescription": { "text": sentence(m.summary) },
                "fullDescription": { "text": full_description(m.docs) },
                "help": {
                    "text": format!("{}. Run `idemgate explain {}` for an example and the fix.", sentence(m.summary), m.id),
                    "markdown": m.docs,
                },
                "helpUri": format!("{INFORMATION_URI}/blob/main/docs/rules/{}.md", m.id),
                "defaultConfiguration": { "level": level(m.default_severity) },
                "properties": { "tags": [category(m.id)] },
            })
        })
        .collect();
    let prints = fingerprints(&outcome.findings);
    let results: Vec<Value> = outcome
        .findings
        .iter()
        .zip(&prints)
        .map(|(f, fp)| {
            let rule_index = all_rules().iter().position(|r| r.meta().id == f.rule);
            let related: Vec<Value> = f
                .related
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    json!({
                        "id": i + 1,
                        "physicalLocation": physical(&r.location),
                        "message": { "text": r.message },
                    })
                })
                .collect();
            let mut text = f.message.clone();
            if let Some(help) = &f.help {
                text.push_str(". Help: ");
                text.push_str(help);
            }
            let mut result = json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": { "text": text },
                "locations": [{ "physicalLocation": physical(&f.location) }],
                "partialFingerprints": { "idemgate/v1": fp },
            });
            if let (Some(obj), Some(i)) = (result.as_object_mut(), rule_index) {
                obj.insert("ruleIndex".into(), json!(i));
                if !related.is_empty() {
                    obj.insert("relatedLocations".into(), Value::Array(related));
                }
            }
            result
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "idemgate",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(uri("src/my file#1.rs"), "src/my%20file%231.rs");
        assert_eq!(uri("a/b_c-d.rs"), "a/b_c-d.rs");
    }

    #[test]
    fn full_description_is_first_why_paragraph() {
        let d = "## Why\nLine one\ncontinues.\n\nSecond.\n\n## Bad\n";
        assert_eq!(full_description(d), "Line one continues.");
    }
}
