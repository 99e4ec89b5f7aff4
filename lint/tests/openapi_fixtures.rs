//! The OpenAPI fixtures: every folder under `fixtures/openapi/` is scanned on its own (with its
//! `idemgate.toml`, if it has one), and the findings must be exactly the expected ones:
//! `# ~ RULE` (or `# ~ RULE@key`) markers at the end of YAML lines, plus `expected.txt` lines
//! `RULE file:line` (for JSON files, which have no comments).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use idemgate_lint::config::{self, Settings};
use idemgate_lint::engine::{check, Outcome};

fn fixtures() -> PathBuf {
    idemgate_lint::discover::absolute(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/openapi"),
    )
}

type Hit = (String, String, u32);

fn settings(dir: &Path) -> Settings {
    let toml = dir.join("idemgate.toml");
    if toml.is_file() {
        config::load(Some(&toml), dir, Some(dir.to_path_buf()))
            .unwrap_or_else(|e| panic!("{}: {e:?}", toml.display()))
    } else {
        Settings::defaults(dir.to_path_buf())
    }
}

fn run(dir: &Path) -> (Outcome, Duration) {
    let start = Instant::now();
    let out = check(&[dir.to_path_buf()], &settings(dir)).unwrap();
    (out, start.elapsed())
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn expected(dir: &Path) -> BTreeSet<Hit> {
    let mut want = BTreeSet::new();
    let mut all = Vec::new();
    files(dir, &mut all);
    for path in all {
        let rel = path
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let is_yaml = rel.ends_with(".yaml") || rel.ends_with(".yml");
        if is_yaml {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            for (i, line) in text.lines().enumerate() {
                let Some(idx) = line.find("# ~ ") else {
                    continue;
                };
                for tok in line[idx + 4..].split_whitespace() {
                    let rule = tok.split('@').next().unwrap();
                    want.insert((rule.to_string(), rel.clone(), i as u32 + 1));
                }
            }
        }
        if rel == "expected.txt" {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (rule, at) = line.split_once(' ').unwrap();
                let (file, n) = at.rsplit_once(':').unwrap();
                want.insert((rule.to_string(), file.to_string(), n.parse().unwrap()));
            }
        }
    }
    want
}

fn assert_fixture(name: &str) -> Outcome {
    let dir = fixtures().join(name);
    let (out, took) = run(&dir);
    let got: BTreeSet<Hit> = out
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.to_string(),
                f.location.file.to_string(),
                f.location.line,
            )
        })
        .collect();
    let want = expected(&dir);
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    let detail: Vec<String> = out
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}:{} {}",
                f.rule, f.location.file, f.location.line, f.location.column, f.message
            )
        })
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{name}: missing {missing:#?}\nunexpected {extra:#?}\nall findings:\n{}",
        detail.join("\n")
    );
    // One finding per (rule, file, line): nothing reported twice.
    assert_eq!(
        got.len(),
        out.findings.len(),
        "{name}: duplicates\n{}",
        detail.join("\n")
    );
    assert!(took < Duration::from_secs(10), "{name} took {took:?}");
    out
}

#[test]
fn oas001_missing_idempotency() {
    assert_fixture("oas001");
}

#[test]
fn oas002_nonstandard_header() {
    assert_fixture("oas002");
}

#[test]
fn oas002_accepted_in_config() {
    assert_fixture("oas002-accepted");
}

#[test]
fn oas003_conflict_responses() {
    assert_fixture("oas003");
}

#[test]
fn oas004_retry_after() {
    assert_fixture("oas004");
}

#[test]
fn oas005_retention() {
    assert_fixture("oas005");
}

#[test]
fn oas006_key_schema() {
    assert_fixture("oas006");
}

#[test]
fn exemptions_and_strategy_none() {
    assert_fixture("exemptions");
}

#[test]
fn config_exemptions_by_operation_id_and_path() {
    assert_fixture("config-exemptions");
}

#[test]
fn other_yaml_and_json_files_are_skipped() {
    let out = assert_fixture("not-openapi");
    assert!(out.findings.is_empty());
}

#[test]
fn split_specs_and_refs() {
    let out = assert_fixture("split");
    let msg = |line: u32| {
        out.findings
            .iter()
            .find(|f| {
                f.rule == "GATE001" && f.location.line == line && &*f.location.file == "api.yaml"
            })
            .map(|f| f.message.clone())
            .unwrap_or_default()
    };
    assert!(msg(19).contains("not fetched"), "{}", msg(19));
    assert!(
        msg(24).contains("leaves the folder being scanned"),
        "{}",
        msg(24)
    );
    assert!(msg(29).contains("`file:` URL"), "{}", msg(29));
    assert!(msg(34).contains("there is no `Nope`"), "{}", msg(34));
    assert!(msg(39).contains("cannot read"), "{}", msg(39));
    assert!(msg(44).contains("cycle"), "{}", msg(44));
    // A parameter defined in another file is reported there, with the $ref as related.
    let oas002 = out.findings.iter().find(|f| f.rule == "OAS002").unwrap();
    assert_eq!(&*oas002.location.file, "common/parameters.yaml");
    assert_eq!(&*oas002.related[0].location.file, "paths/orders.yaml");
}

#[test]
fn hostile_inputs_fail_cleanly_and_fast() {
    let out = assert_fixture("hostile");
    for f in &out.findings {
        assert_eq!(f.rule, "GATE001");
        assert!(f.location.line >= 1 && f.location.column >= 1);
    }
    let msg = |file: &str| {
        out.findings
            .iter()
            .find(|f| &*f.location.file == file)
            .map(|f| f.message.clone())
            .unwrap_or_default()
    };
    assert!(
        msg("billion.yaml").contains("exceed"),
        "{}",
        msg("billion.yaml")
    );
    assert!(
        msg("deep.json").contains("nesting deeper than 256"),
        "{}",
        msg("deep.json")
    );
    assert!(
        msg("deep.yaml").contains("nesting deeper than 256"),
        "{}",
        msg("deep.yaml")
    );
    assert!(
        msg("latin1.yaml").contains("UTF-8"),
        "{}",
        msg("latin1.yaml")
    );
    assert!(
        msg("recursive-alias.yaml").contains("alias"),
        "{}",
        msg("recursive-alias.yaml")
    );
}

#[test]
fn hostile_file_over_the_cap() {
    let out = assert_fixture("hostile-cap");
    assert!(
        out.findings[0].message.contains("byte limit"),
        "{}",
        out.findings[0].message
    );
}

#[test]
fn billion_laughs_is_bounded_and_fast() {
    let dir = fixtures().join("hostile");
    let file = dir.join("billion.yaml");
    let start = Instant::now();
    let out = check(&[file], &Settings::defaults(dir)).unwrap();
    assert_eq!(out.findings.len(), 1);
    assert_eq!(out.findings[0].rule, "GATE001");
    // Well under a second in release; generous for a debug build on a busy CI machine.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}
