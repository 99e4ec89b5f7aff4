//! docs/rules/<ID>.md: one page per rule, generated from the catalog (the text `idemgate
//! explain` prints). Fails when the pages and the catalog drift; regenerate them with
//! `cargo run -p idemgate-lint --bin idemgate -- rule-docs docs/rules`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use idemgate_tests::{idemgate, repo_root, stderr, stdout};

const REGENERATE: &str = "cargo run -p idemgate-lint --bin idemgate -- rule-docs docs/rules";

fn rule_ids() -> Vec<String> {
    let out = idemgate(&repo_root(), &["rules"]);
    assert!(out.status.success());
    stdout(&out)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn rule_pages_match_the_catalog() {
    let out = idemgate(&repo_root(), &["rule-docs", "--check", "docs/rules"]);
    assert!(
        out.status.success(),
        "docs/rules differs from the rule catalog; regenerate with `{REGENERATE}`:\n{}",
        stderr(&out)
    );
}

#[test]
fn each_page_is_what_explain_prints() {
    let ids = rule_ids();
    assert!(ids.len() >= 21, "{ids:?}");
    let dir = repo_root().join("docs/rules");
    for id in &ids {
        let page = std::fs::read_to_string(dir.join(format!("{id}.md")))
            .unwrap_or_else(|e| panic!("docs/rules/{id}.md: {e}; regenerate with `{REGENERATE}`"));
        let explain = stdout(&idemgate(&repo_root(), &["explain", id]));
        assert!(explain.starts_with(&format!("# {id} ")), "{explain}");
        assert!(
            page.ends_with(&explain),
            "docs/rules/{id}.md is not `idemgate explain {id}`; regenerate with `{REGENERATE}`"
        );
    }
    let index = std::fs::read_to_string(dir.join("README.md")).unwrap();
    for id in &ids {
        assert!(
            index.contains(&format!("[{id}]({id}.md)")),
            "index lacks {id}"
        );
    }
}

#[test]
fn drift_is_detected_and_regeneration_repairs_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = idemgate(d, &["rule-docs", "pages"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pages = d.join("pages");
    assert!(idemgate(d, &["rule-docs", "--check", "pages"])
        .status
        .success());

    // an edited page, a missing one, and the page of a rule that left the catalog
    let idem001 = pages.join("IDEM001.md");
    let text = std::fs::read_to_string(&idem001).unwrap();
    std::fs::write(&idem001, text.replace("## Why", "## Why not")).unwrap();
    std::fs::remove_file(pages.join("RETRY001.md")).unwrap();
    let generated_header = text.lines().next().unwrap().to_string();
    std::fs::write(
        pages.join("OLD999.md"),
        format!("{generated_header}\n\n# OLD999\n"),
    )
    .unwrap();
    std::fs::write(pages.join("notes.md"), "hand-written, not generated\n").unwrap();

    let out = idemgate(d, &["rule-docs", "--check", "pages"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("out of date: pages/IDEM001.md"), "{err}");
    assert!(err.contains("missing: pages/RETRY001.md"), "{err}");
    assert!(
        err.contains("no such rule any more: pages/OLD999.md"),
        "{err}"
    );
    assert!(!err.contains("notes.md"), "{err}");

    assert!(idemgate(d, &["rule-docs", "pages"]).status.success());
    let out = idemgate(d, &["rule-docs", "--check", "pages"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!pages.join("OLD999.md").exists());
    assert!(pages.join("notes.md").exists());
}
