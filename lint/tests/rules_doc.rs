//! docs/rules.md is generated from the rules' own docs (one text: `idemgate explain`, SARIF
//! help, and this page). This test fails when the page is stale; regenerate it with
//! `IDEMGATE_BLESS=1 cargo test -p idemgate-lint --test rules_doc`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::fmt::Write;
use std::path::Path;

use idemgate_rules::all_rules;

fn render() -> String {
    let mut out = String::from(
        "# idemgate rules\n\n<!-- Generated from the rule sources by lint/tests/rules_doc.rs; do not edit. -->\n\n| id | name | default | fires on |\n|---|---|---|---|\n",
    );
    for r in all_rules() {
        let m = r.meta();
        let _ = writeln!(
            out,
            "| [{}](#{}) | {} | {} | {} |",
            m.id,
            m.id.to_ascii_lowercase(),
            m.name,
            m.default_severity.as_str(),
            m.summary
        );
    }
    for r in all_rules() {
        let m = r.meta();
        let _ = write!(
            out,
            "\n## {}\n\n`{}` · default severity: {}\n\n{}.\n\n{}\n",
            m.id,
            m.name,
            m.default_severity.as_str(),
            m.summary,
            m.docs.trim().replace("\n## ", "\n### ")
        );
    }
    out
}

#[test]
fn rules_page_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rules.md");
    let expected = render();
    if std::env::var_os("IDEMGATE_BLESS").is_some() {
        std::fs::write(&path, &expected).expect("write docs/rules.md");
        return;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/rules.md is stale: run IDEMGATE_BLESS=1 cargo test -p idemgate-lint --test rules_doc"
    );
}
