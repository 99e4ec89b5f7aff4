//! Baselines: how a codebase with legacy findings adopts the gate. `--write-baseline` records
//! today's findings; `--baseline` (or `baseline = "…"` in the config) then fails only on
//! findings the file does not hold, and tells which entries match nothing any more, so the
//! file shrinks as the legacy is fixed.
//!
//! An entry is keyed by rule + file + the finding's normalized logical key (a function path, a
//! route's method and path, a loop's enclosing function and callee, an OpenAPI JSON pointer),
//! never by line numbers: inserting lines above a finding, or moving a function within its
//! file, keeps it baselined. Identical keys in one file are counted (`count`). The file is
//! pretty, stably sorted JSON so that its diffs review well.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use idemgate_rules::Finding;
use serde::{Deserialize, Serialize};

/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

/// A baseline file that cannot be read, parsed or written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BaselineError {
    #[error("cannot read baseline {}: {source}", path.display())]
    #[diagnostic(
        code(idemgate::baseline),
        help("record one with `idemgate check --write-baseline <FILE>` (or `idemgate init --baseline`)")
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("baseline {}:{line}:{column}: {message}", path.display())]
    #[diagnostic(
        code(idemgate::baseline),
        help("the file is written by `idemgate check --write-baseline`; rewrite it with that command")
    )]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("baseline {} has format version {found}; this idemgate reads version {VERSION}", path.display())]
    #[diagnostic(
        code(idemgate::baseline),
        help("rewrite it with `idemgate check --write-baseline`")
    )]
    Version { path: PathBuf, found: u32 },
    #[error("cannot write baseline {}: {source}", path.display())]
    #[diagnostic(code(idemgate::baseline))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One baselined finding (or `count` identical ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub rule: String,
    /// Path relative to the scan root, `/`-separated (as in reports).
    pub file: String,
    /// The normalized logical key (see [`logical_key`]).
    pub key: String,
    /// How many findings share rule, file and key (omitted when one).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u32,
    /// The message when recorded: for the reader only, never matched.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

impl Entry {
    fn id(&self) -> (&str, &str, &str) {
        (&self.file, &self.rule, &self.key)
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    about: String,
    findings: Vec<Entry>,
}

const ABOUT: &str = "idemgate baseline: findings accepted when the gate was adopted. `idemgate check` fails only on findings not listed here; `--prune-baseline` drops entries that match nothing any more.";

/// A set of accepted findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// Sorted by file, rule, key; one entry per identity.
    pub entries: Vec<Entry>,
}

/// What applying a baseline to a run's findings gave.
#[derive(Debug, Default)]
pub struct Applied {
    /// Findings the baseline does not cover: the ones to report.
    pub new: Vec<Finding>,
    /// How many findings the baseline covered.
    pub baselined: usize,
    /// Entries (with the unmatched part of their count) that matched nothing.
    pub stale: Vec<Entry>,
    /// The baseline without its stale part (what `--prune-baseline` writes).
    pub pruned: Baseline,
}

/// The line-independent identity of a finding within its rule and file: the OpenAPI JSON
/// pointer when it has one, else its key, else its message; whitespace runs collapse to one
/// space so that reformatting a signature does not matter.
pub fn logical_key(f: &Finding) -> String {
    let raw = match &f.pointer {
        Some(p) => p.as_str(),
        None if f.key.is_empty() => f.message.as_str(),
        None => f.key.as_str(),
    };
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Baseline {
    /// The baseline that accepts exactly `findings`.
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        let mut map: BTreeMap<(String, String, String), (u32, String)> = BTreeMap::new();
        for f in findings {
            let id = (
                f.location.file.to_string(),
                f.rule.to_string(),
                logical_key(f),
            );
            let e = map.entry(id).or_insert_with(|| (0, f.message.clone()));
            e.0 += 1;
        }
        Baseline {
            entries: map
                .into_iter()
                .map(|((file, rule, key), (count, message))| Entry {
                    rule,
                    file,
                    key,
                    count,
                    message,
                })
                .collect(),
        }
    }

    /// Reads a baseline file.
    pub fn read(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Baseline::parse(path, &text)
    }

    /// Parses baseline text (`path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Baseline, BaselineError> {
        let file: BaselineFile = serde_json::from_str(text).map_err(|e| BaselineError::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        if file.version != VERSION {
            return Err(BaselineError::Version {
                path: path.to_path_buf(),
                found: file.version,
            });
        }
        // entries edited by hand may repeat or be unsorted: merge them
        let mut map: BTreeMap<(String, String, String), Entry> = BTreeMap::new();
        for mut e in file.findings {
            e.key = e.key.split_whitespace().collect::<Vec<_>>().join(" ");
            let id = (e.file.clone(), e.rule.clone(), e.key.clone());
            match map.get_mut(&id) {
                Some(have) => have.count = have.count.saturating_add(e.count),
                None => {
                    map.insert(id, e);
                }
            }
        }
        Ok(Baseline {
            entries: map.into_values().filter(|e| e.count > 0).collect(),
        })
    }

    /// The file's text: pretty JSON, entries sorted by file, rule, key, a final newline.
    pub fn to_json(&self) -> String {
        let mut entries = self.entries.clone();
        entries.sort_by(|a, b| a.id().cmp(&b.id()));
        let file = BaselineFile {
            version: VERSION,
            about: ABOUT.to_string(),
            findings: entries,
        };
        let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Writes the file (creating its folder).
    pub fn write(&self, path: &Path) -> Result<(), BaselineError> {
        let err = |source| BaselineError::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        std::fs::write(path, self.to_json()).map_err(err)
    }

    /// How many findings the baseline accepts.
    pub fn len(&self) -> usize {
        self.entries.iter().map(|e| e.count as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Splits `findings` (in report order) into the baselined and the new ones. Where a file
    /// holds more findings of one identity than the entry counts, the later ones are new.
    pub fn apply(&self, findings: Vec<Finding>) -> Applied {
        let mut left: HashMap<(String, String, String), u32> = self
            .entries
            .iter()
            .map(|e| ((e.file.clone(), e.rule.clone(), e.key.clone()), e.count))
            .collect();
        let mut out = Applied::default();
        for f in findings {
            let id = (
                f.location.file.to_string(),
                f.rule.to_string(),
                logical_key(&f),
            );
            match left.get_mut(&id) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    out.baselined += 1;
                }
                _ => out.new.push(f),
            }
        }
        for e in &self.entries {
            let unmatched = left
                .get(&(e.file.clone(), e.rule.clone(), e.key.clone()))
                .copied()
                .unwrap_or(0);
            if unmatched > 0 {
                out.stale.push(Entry {
                    count: unmatched,
                    ..e.clone()
                });
            }
            if unmatched < e.count {
                out.pruned.entries.push(Entry {
                    count: e.count - unmatched,
                    ..e.clone()
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use idemgate_rules::rules::{idem001, retry001};
    use idemgate_rules::Location;
    use std::sync::Arc;

    fn at(file: &str, line: u32) -> Location {
        let mut l = Location::file_start(Arc::from(file));
        l.line = line;
        l
    }

    #[test]
    fn keys_not_lines_and_counts() {
        let a = Finding::new(&idem001::META, at("src/a.rs", 3), "m").key("api::create:POST");
        let b = Finding::new(&retry001::META, at("src/a.rs", 9), "m").key("api::poll:  fetch");
        let b2 = Finding::new(&retry001::META, at("src/a.rs", 19), "m").key("api::poll:fetch");
        let base = Baseline::from_findings(&[a.clone(), b.clone(), b.clone()]);
        assert_eq!(base.entries.len(), 2);
        assert_eq!(base.len(), 3);
        assert_eq!(base.entries[1].key, "api::poll: fetch");
        // the same findings, on other lines, are all baselined
        let moved = vec![
            Finding::new(&idem001::META, at("src/a.rs", 40), "m").key("api::create:POST"),
            b.clone(),
            b.clone(),
            b2,
        ];
        let applied = base.apply(moved);
        assert_eq!(applied.baselined, 3);
        assert_eq!(applied.new.len(), 1);
        assert!(applied.stale.is_empty());
        // one fixed: a stale entry with count 1, pruned keeps the other
        let applied = base.apply(vec![a, b]);
        assert_eq!(applied.stale.len(), 1);
        assert_eq!(applied.stale[0].count, 1);
        assert_eq!(applied.pruned.len(), 2);
    }

    #[test]
    fn round_trip_and_errors() {
        let f = Finding::new(&idem001::META, at("b.rs", 1), "m").key("k");
        let base = Baseline::from_findings(&[f]);
        let text = base.to_json();
        assert_eq!(Baseline::parse(Path::new("x.json"), &text).unwrap(), base);
        let err = Baseline::parse(
            Path::new("x.json"),
            "{\n  \"version\": 1,\n  \"findings\": [ {\"rule\": 3} ]\n}",
        )
        .unwrap_err();
        assert!(matches!(err, BaselineError::Parse { line: 3, .. }), "{err}");
        let err =
            Baseline::parse(Path::new("x.json"), "{\"version\": 7, \"findings\": []}").unwrap_err();
        assert!(matches!(err, BaselineError::Version { found: 7, .. }));
    }
}
