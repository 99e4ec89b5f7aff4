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
    // YAML and JSON files that are not specs are not checked; a folder of only those has
    // nothing to check at all, which is an error (a mistyped CI path must not pass)
    let dir = fixtures().join("not-openapi");
    match check(std::slice::from_ref(&dir), &settings(&dir)) {
        Err(idemgate_lint::discover::DiscoverError::NothingToCheck { looked, .. }) => {
            assert!(looked.contains("not-openapi"), "{looked}")
        }
        other => panic!("expected nothing to check, got {other:?}"),
    }
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

fn finding<'o>(out: &'o Outcome, rule: &str, file: &str, line: u32) -> &'o idemgate_rules::Finding {
    out.findings
        .iter()
        .find(|f| f.rule == rule && &*f.location.file == file && f.location.line == line)
        .unwrap_or_else(|| panic!("no {rule} at {file}:{line}"))
}

fn related(f: &idemgate_rules::Finding) -> Vec<String> {
    f.related
        .iter()
        .map(|r| format!("{}:{} {}", r.location.file, r.location.line, r.message))
        .collect()
}

#[test]
fn operations_referenced_from_their_own_files() {
    let out = assert_fixture("split-ops");
    // Reported in the file that holds the operation, with the root's `$ref` as related.
    let update = finding(&out, "OAS001", "resources/ssh_keys/sshKeys_update.yml", 1);
    assert!(update
        .message
        .starts_with("PATCH /v2/account/keys/{ssh_key_identifier}"));
    assert_eq!(
        related(update),
        ["api.yaml:13 PATCH /v2/account/keys/{ssh_key_identifier} is referenced here"]
    );
    // A local operation-level `$ref`: at the key the pointer names.
    let local = finding(&out, "OAS001", "api.yaml", 37);
    assert_eq!(
        related(local),
        ["api.yaml:19 POST /v2/local is referenced here"]
    );
    // The shared 429 is one finding, with every use (and how each operation was reached).
    let shared = finding(&out, "OAS004", "shared/responses/too_many_requests.yml", 1);
    let uses: Vec<String> = related(shared)
        .into_iter()
        .filter(|r| r.contains("used by"))
        .collect();
    assert_eq!(
        uses,
        [
            "resources/ssh_keys/sshKeys_list.yml:6 used by GET /v2/account/keys",
            "resources/ssh_keys/sshKeys_create.yml:18 used by POST /v2/account/keys",
            "resources/ssh_keys/sshKeys_update.yml:8 used by PATCH /v2/account/keys/{ssh_key_identifier}",
            "resources/droplets/droplets_create.yml:13 used by POST /v2/droplets",
            "api.yaml:40 used by POST /v2/local",
        ]
    );
    assert_eq!(shared.key, "shared/responses/too_many_requests.yml#");
    // Every `$ref` that cannot be followed says why.
    let msg = |line: u32| finding(&out, "GATE001", "api.yaml", line).message.clone();
    assert!(msg(22).contains("cycle"), "{}", msg(22));
    assert!(msg(22).contains("`b.yml` → `a.yml`"), "{}", msg(22));
    assert!(msg(25).contains("leaves the folder"), "{}", msg(25));
    assert!(msg(28).contains("cannot read the file"), "{}", msg(28));
    assert!(msg(31).contains("is not a mapping"), "{}", msg(31));
}

#[test]
fn every_document_is_read() {
    let out = assert_fixture("documents");
    let dup = finding(&out, "GATE001", "duplicates.yaml", 12);
    assert!(
        dup.message
            .contains("duplicate key `post`: also written at duplicates.yaml:7:5"),
        "{}",
        dup.message
    );
    // The last `post` is the one checked.
    let op = finding(&out, "OAS001", "duplicates.yaml", 12);
    assert_eq!(op.key, "second");
    let refund = finding(&out, "GATE001", "parts/refund.yaml", 6);
    assert!(
        refund.message.contains("parts/refund.yaml:4:1"),
        "{}",
        refund.message
    );
    let json = finding(&out, "GATE001", "dup.json", 7);
    assert!(json.message.contains("dup.json:6:7"), "{}", json.message);
    let two = finding(&out, "GATE001", "duplicates.yaml", 20);
    assert!(
        two.message.contains("holds 2 YAML documents"),
        "{}",
        two.message
    );
}

#[test]
fn root_level_ignore_covers_referenced_files() {
    let out = assert_fixture("root-ignore");
    assert_eq!(out.suppressed, 3, "{:#?}", out.findings);
}

#[test]
fn key_fields_and_conflict_ranges() {
    assert_fixture("key-fields");
}

#[test]
fn key_fields_must_name_something() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("idemgate.toml");
    for bad in ["key-fields = []", "key-fields = [\"request_id\", \" \"]"] {
        std::fs::write(&toml, format!("[openapi]\n{bad}\n")).unwrap();
        let err = config::load(Some(&toml), dir.path(), None).unwrap_err();
        assert!(err.message.contains("key-fields"), "{}", err.message);
        assert!(err.span.is_some(), "{bad}: no location");
    }
}

#[test]
fn an_operation_file_shared_by_two_paths_is_one_finding() {
    let out = assert_fixture("shared-op");
    let f = finding(&out, "OAS001", "ops/create.yaml", 1);
    assert_eq!(
        related(f),
        [
            "api.yaml:7 POST /v1/orders is referenced here",
            "api.yaml:10 POST /v2/orders is referenced here",
        ]
    );
}
