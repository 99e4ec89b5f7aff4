//! Every Rust fixture is checked both ways: the findings of the gate on fixtures/rust must be
//! exactly the `//~ RULE` marks written at the end of fixture lines (rule, file, line).
//! And hostile inputs never crash the gate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use idemgate_lint::config::Settings;
use idemgate_lint::engine;

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/rust")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

type Mark = (String, String, u32);

fn expected(root: &Path) -> BTreeSet<Mark> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let mut out = BTreeSet::new();
    for f in files {
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            if let Some(p) = line.find("//~") {
                for rule in line[p + 3..].split_whitespace() {
                    // `RULE(info)`: the finding must have that severity too
                    let rule = rule.split('(').next().unwrap_or(rule);
                    out.insert((rule.to_string(), rel.clone(), i as u32 + 1));
                }
            }
        }
    }
    out
}

/// The marks that name a severity: `//~ IDEM001(info)`.
fn severities(root: &Path) -> Vec<(Mark, String)> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let mut out = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let Some(p) = line.find("//~") else { continue };
            for mark in line[p + 3..].split_whitespace() {
                if let Some((rule, sev)) = mark.strip_suffix(')').and_then(|m| m.split_once('(')) {
                    out.push((
                        (rule.to_string(), rel.clone(), i as u32 + 1),
                        sev.to_string(),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn fixtures_fire_exactly_where_marked() {
    let root = fixtures_root().canonicalize().unwrap();
    let settings = Settings::defaults(root.clone());
    let outcome = engine::check(std::slice::from_ref(&root), &settings).unwrap();
    let actual: BTreeSet<Mark> = outcome
        .findings
        .iter()
        .filter(|f| !f.rule.starts_with("OAS"))
        .map(|f| {
            (
                f.rule.to_string(),
                f.location.file.to_string(),
                f.location.line,
            )
        })
        .collect();
    let mut counted: std::collections::BTreeMap<(&str, &str, u32), usize> = Default::default();
    for f in outcome
        .findings
        .iter()
        .filter(|f| !f.rule.starts_with("OAS"))
    {
        *counted
            .entry((f.rule, &f.location.file, f.location.line))
            .or_default() += 1;
    }
    let repeated: Vec<_> = counted.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "one rule fired twice on one line: {repeated:?}"
    );
    let want = expected(&root);
    let missing: Vec<_> = want.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&want).collect();
    let detail = |m: &Mark| {
        outcome
            .findings
            .iter()
            .find(|f| f.rule == m.0 && *f.location.file == *m.1 && f.location.line == m.2)
            .map(|f| f.message.clone())
            .unwrap_or_default()
    };
    let extra_text: Vec<String> = extra
        .iter()
        .map(|m| format!("{m:?} {}", detail(m)))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "\nmarked but not reported:\n{missing:#?}\nreported but not marked:\n{}\n",
        extra_text.join("\n")
    );
    // marks that name a severity (`//~ IDEM001(info)`) get it
    let wrong: Vec<String> = severities(&root)
        .into_iter()
        .filter_map(|(m, want)| {
            let f = outcome
                .findings
                .iter()
                .find(|f| f.rule == m.0 && *f.location.file == *m.1 && f.location.line == m.2)?;
            (f.severity.as_str() != want).then(|| {
                format!(
                    "{m:?}: {} instead of {want}: {}",
                    f.severity.as_str(),
                    f.message
                )
            })
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "\nwrong severity:\n{}\n",
        wrong.join("\n")
    );
    // every rule of the Rust front-end has fixtures that fire
    for rule in [
        "IDEM001", "IDEM002", "RETRY001", "RETRY002", "RETRY003", "RETRY004", "RETRY005",
        "RETRY006", "RETRY007", "GATE002",
    ] {
        assert!(want.iter().any(|m| m.0 == rule), "no fixture fires {rule}");
    }
}

#[test]
fn messages_follow_the_convention() {
    let root = fixtures_root().canonicalize().unwrap();
    let outcome = engine::check(
        std::slice::from_ref(&root),
        &Settings::defaults(root.clone()),
    )
    .unwrap();
    for f in &outcome.findings {
        assert!(!f.message.ends_with('.'), "{}: {}", f.rule, f.message);
        assert!(
            f.message.chars().next().is_some_and(|c| !c.is_uppercase()),
            "{}: {}",
            f.rule,
            f.message
        );
        assert!(!f.key.is_empty(), "{} has no key", f.rule);
    }
}

fn check_hostile(name: &str, bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let settings = Settings::defaults(dir.path().to_path_buf());
    let outcome = engine::check(std::slice::from_ref(&path), &settings).unwrap();
    let gate001: Vec<_> = outcome
        .findings
        .iter()
        .filter(|f| f.rule == "GATE001")
        .collect();
    let parsed = idemgate_lint::source::SourceFile::read(
        idemgate_lint::source::SourcePath {
            rel: name.into(),
            abs: path.clone(),
            kind: idemgate_lint::source::FileKind::Rust,
            explicit: true,
        },
        u64::MAX,
    )
    .and_then(|f| idemgate_lint::rust::parse(&f, false).map(|_| ()));
    let err = parsed.expect_err(name);
    assert_eq!(&*err.file, name);
    assert_eq!(gate001.len(), 1, "{name}: {:?}", outcome.findings);
    assert_eq!(&*gate001[0].location.file, name);
}

#[test]
fn hostile_inputs_are_reported_not_fatal() {
    // Grammar is checked in items that can matter (the scan skips the others for speed);
    // lexical errors anywhere.
    check_hostile(
        "syntax.rs",
        b"fn app() -> Router { let = ; Router::new().route(\"/a\", post(h)) }\n",
    );
    check_hostile("unterminated.rs", b"fn main() { let s = \"abc; }\n");
    check_hostile("unbalanced.rs", b"fn main() { if x { }\n");
    check_hostile("bad_utf8.rs", b"fn main() {}\n// \xff\xfe\n");
    check_hostile("parens.rs", "(".repeat(100_000).as_bytes());
    check_hostile(
        "brackets.rs",
        format!("fn f() {{ let x = {}; }}", "[".repeat(100_000)).as_bytes(),
    );
    check_hostile(
        "blocks.rs",
        format!(
            "fn f() {{ {}{} }}",
            "{".repeat(100_000),
            "}".repeat(100_000)
        )
        .as_bytes(),
    );
    check_hostile(
        "chain.rs",
        format!("fn f() {{ let x = a{}; }}", ".b()".repeat(200_000)).as_bytes(),
    );
    check_hostile(
        "unary.rs",
        format!("fn f() {{ let x = {}y; }}", "!".repeat(200_000)).as_bytes(),
    );
    check_hostile(
        "elseif.rs",
        format!(
            "fn f() {{ if a {{}} {} }}",
            "else if a { x; } ".repeat(50_000)
        )
        .as_bytes(),
    );
}

#[test]
fn benign_edge_inputs_parse() {
    for (name, text) in [
        ("empty.rs", String::new()),
        (
            "huge_line.rs",
            format!("const S: &str = \"{}\";", "x".repeat(5_000_000)),
        ),
        (
            "shebang.rs",
            "#!/usr/bin/env run-cargo-script\nfn main() {}\n".to_string(),
        ),
        (
            "bom.rs",
            "\u{feff}#[idemgate::idempotent(conditional)]\nasync fn f() {}\n".to_string(),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        let settings = Settings::defaults(dir.path().to_path_buf());
        let outcome = engine::check(std::slice::from_ref(&path), &settings).unwrap();
        assert!(
            outcome.findings.is_empty(),
            "{name}: {:?}",
            outcome.findings
        );
    }
}

/// Every prefix (and a byte-flipped copy) of every fixture goes through the front-end without
/// a panic: truncated strings, comments, attributes and chains are errors or facts, never
/// crashes.
#[test]
fn truncated_and_mangled_fixtures_never_panic() {
    let root = fixtures_root().canonicalize().unwrap();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut cases: Vec<String> = Vec::new();
        let mut cut = 0;
        while cut < text.len() {
            if text.is_char_boundary(cut) {
                cases.push(text[..cut].to_string());
            }
            cut += 37;
        }
        let mut bytes = text.clone().into_bytes();
        for _ in 0..16 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let i = (seed as usize) % bytes.len().max(1);
            if bytes.get(i).is_some_and(|b| b.is_ascii()) {
                bytes[i] = b"{}()[]\"'#/!<>;,.:"[(seed >> 32) as usize % 17];
            }
        }
        cases.push(String::from_utf8_lossy(&bytes).into_owned());
        for (n, case) in cases.iter().enumerate() {
            let path = dir.path().join(format!("case{n}.rs"));
            std::fs::write(&path, case).unwrap();
            let sp = idemgate_lint::source::SourcePath {
                rel: format!("case{n}.rs").into(),
                abs: path,
                kind: idemgate_lint::source::FileKind::Rust,
                explicit: true,
            };
            let file = idemgate_lint::source::SourceFile::read(sp, u64::MAX).unwrap();
            let parsed = idemgate_lint::rust::parse(&file, true);
            if let Ok(facts) = parsed {
                let mut model = idemgate_rules::Model::default();
                let workspace = idemgate_lint::rust::Workspace::new();
                let input = idemgate_lint::rust::LinkInput {
                    root: dir.path(),
                    workspace: &workspace,
                    budget: idemgate_lint::rust::DEFAULT_ANALYSIS_BUDGET,
                };
                idemgate_lint::rust::link(
                    vec![facts],
                    &input,
                    &idemgate_rules::Context::default(),
                    &mut model,
                );
                let _ =
                    idemgate_rules::registry::run_all(&model, &idemgate_rules::Context::default());
            }
        }
    }
}

/// The lazy front-end (items no rule reads are only lexed) and `--full-syntax` must see the
/// same facts: the words that decide what gets parsed and the extractors may never drift.
#[test]
fn lazy_and_full_syntax_find_the_same() {
    let root = fixtures_root().canonicalize().unwrap();
    let lazy = Settings::defaults(root.clone());
    let mut full = Settings::defaults(root.clone());
    full.full_syntax = true;
    let run = |s: &Settings| -> BTreeSet<(String, String, u32, String)> {
        engine::check(std::slice::from_ref(&root), s)
            .unwrap()
            .findings
            .iter()
            .map(|f| {
                (
                    f.rule.to_string(),
                    f.location.file.to_string(),
                    f.location.line,
                    f.message.clone(),
                )
            })
            .collect()
    };
    let (a, b) = (run(&lazy), run(&full));
    let only_lazy: Vec<_> = a.difference(&b).collect();
    let only_full: Vec<_> = b.difference(&a).collect();
    assert!(
        only_lazy.is_empty() && only_full.is_empty(),
        "lazy only: {only_lazy:#?}\nfull only: {only_full:#?}"
    );
}
