//! One page per rule (`docs/rules/<ID>.md`), generated from the catalog's own docs: the page
//! is the text `idemgate explain <ID>` prints, and SARIF's `helpUri` points at it. Regenerate
//! with `idemgate rule-docs docs/rules`; `--check` fails when pages and catalog drift.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use idemgate_rules::{all_rules, RuleMeta};

/// The marker that makes a page recognisable as generated (and safe to delete when its rule
/// leaves the catalog).
pub const GENERATED: &str =
    "<!-- Generated from the rule catalog by `idemgate rule-docs docs/rules`; do not edit. -->";

/// What `idemgate explain` prints for a rule.
pub fn explain(m: &RuleMeta) -> String {
    format!(
        "# {} {}\n\ndefault severity: {}\n\n{}.\n\n{}\n",
        m.id,
        m.name,
        m.default_severity.as_str(),
        m.summary,
        m.docs.trim_end()
    )
}

/// A rule's page: the explain text under the generated marker.
pub fn page(m: &RuleMeta) -> String {
    format!("{GENERATED}\n\n{}", explain(m))
}

/// The index page (`README.md`): every rule with its default severity and summary.
pub fn index() -> String {
    let mut out = format!(
        "# idemgate rules\n\n{GENERATED}\n\nOne page per rule; `idemgate explain <ID>` prints the same text.\n\n| id | name | default | fires on |\n|---|---|---|---|\n"
    );
    for r in all_rules() {
        let m = r.meta();
        let _ = writeln!(
            out,
            "| [{id}]({id}.md) | {} | {} | {} |",
            m.name,
            m.default_severity.as_str(),
            m.summary,
            id = m.id
        );
    }
    out
}

/// Every generated file: name → text.
pub fn pages() -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = all_rules()
        .iter()
        .map(|r| (format!("{}.md", r.meta().id), page(r.meta())))
        .collect();
    out.insert("README.md".into(), index());
    out
}

/// A page that differs from the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    Missing(PathBuf),
    Stale(PathBuf),
    /// A generated page whose rule is no longer in the catalog.
    Orphan(PathBuf),
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drift::Missing(p) => write!(f, "missing: {}", p.display()),
            Drift::Stale(p) => write!(f, "out of date: {}", p.display()),
            Drift::Orphan(p) => write!(f, "no such rule any more: {}", p.display()),
        }
    }
}

/// Generated pages in `dir` whose name is not one of `expected` (rules that left the catalog).
fn orphans(dir: &Path, expected: &BTreeMap<String, String>) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| n.ends_with(".md") && !expected.contains_key(&n))
                && std::fs::read_to_string(p).is_ok_and(|t| t.starts_with(GENERATED))
        })
        .collect();
    out.sort();
    out
}

/// Compares `dir` with the catalog.
pub fn check(dir: &Path) -> Vec<Drift> {
    let expected = pages();
    let mut out = Vec::new();
    for (name, text) in &expected {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(have) if have == *text => {}
            Ok(_) => out.push(Drift::Stale(path)),
            Err(_) => out.push(Drift::Missing(path)),
        }
    }
    out.extend(orphans(dir, &expected).into_iter().map(Drift::Orphan));
    out
}

/// Writes every page into `dir` and removes generated pages of rules no longer in the
/// catalog. Returns how many files changed.
pub fn write(dir: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let mut changed = 0;
    for d in check(dir) {
        match d {
            Drift::Missing(p) | Drift::Stale(p) => {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let text = pages().remove(&name).unwrap_or_default();
                std::fs::write(&p, text)?;
            }
            Drift::Orphan(p) => std::fs::remove_file(&p)?,
        }
        changed += 1;
    }
    Ok(changed)
}
