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
            demote_headings(m.docs.trim())
        );
    }
    out
}

/// The rule's docs one heading level down (outside code blocks), so that its "Why / Bad /
/// Good" sit under the rule's own `## ID`.
fn demote_headings(docs: &str) -> String {
    let mut fenced = false;
    let mut out = String::new();
    for line in docs.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if !fenced && heading(line).is_some() {
            out.push('#');
        }
        out.push_str(line);
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

/// `(level, text)` of a Markdown heading line.
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.bytes().take_while(|b| *b == b'#').count();
    let text = line.get(level..)?.strip_prefix(' ')?;
    (level > 0).then_some((level, text.trim()))
}

/// The headings of a Markdown text, outside code blocks, with their line numbers.
fn headings(text: &str) -> Vec<(usize, usize, String)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if let Some((level, text)) = heading(line).filter(|_| !fenced) {
            out.push((i + 1, level, text.to_string()));
        }
    }
    out
}

#[test]
fn rule_sections_nest_under_their_rule() {
    let page = render();
    let hs = headings(&page);
    assert_eq!(
        hs.first().map(|h| (h.1, h.2.as_str())),
        Some((1, "idemgate rules"))
    );
    let ids: Vec<&str> = all_rules().iter().map(|r| r.meta().id).collect();
    let rules: Vec<&str> = hs
        .iter()
        .filter(|h| h.1 == 2)
        .map(|h| h.2.as_str())
        .collect();
    assert_eq!(
        rules, ids,
        "the level-2 headings are the rules, in catalog order"
    );
    for pair in hs.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        assert!(
            next.1 <= prev.1 + 1,
            "docs/rules.md:{}: `{}` skips a level after `{}`",
            next.0,
            next.2,
            prev.2
        );
    }
    // each rule holds its Why, Bad and Good one level under it
    for (i, id) in ids.iter().enumerate() {
        let start = hs.iter().position(|h| h.1 == 2 && h.2 == *id).unwrap();
        let end = hs
            .iter()
            .skip(start + 1)
            .position(|h| h.1 <= 2)
            .map_or(hs.len(), |p| start + 1 + p);
        let sections: Vec<&str> = hs[start + 1..end]
            .iter()
            .filter(|h| h.1 == 3)
            .map(|h| h.2.as_str())
            .collect();
        for wanted in ["Why", "Bad", "Good"] {
            assert!(
                sections.contains(&wanted),
                "{id} (rule {i}) has no `### {wanted}`: {sections:?}"
            );
        }
    }
}

#[test]
fn demoting_leaves_code_blocks_alone() {
    let docs = "## Why\ntext\n### Evidence\n```toml\n# Cargo.toml\n```\n## Bad";
    assert_eq!(
        demote_headings(docs),
        "### Why\ntext\n#### Evidence\n```toml\n# Cargo.toml\n```\n### Bad"
    );
}

/// The README's rule table lists the catalog: every rule, in order, with its name and
/// default severity.
#[test]
fn readme_rule_table_is_the_catalog() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let table: Vec<Vec<String>> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| id | name | default |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    let catalog: Vec<Vec<String>> = all_rules()
        .iter()
        .map(|r| {
            let m = r.meta();
            vec![
                m.id.to_string(),
                m.name.to_string(),
                m.default_severity.as_str().to_string(),
            ]
        })
        .collect();
    assert_eq!(
        table, catalog,
        "README.md's rule table differs from the catalog"
    );
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
