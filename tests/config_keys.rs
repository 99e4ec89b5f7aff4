//! A config error points somewhere that lists the config keys: `idemgate explain config` shows
//! every key the config accepts (each table's, as the parser's own "expected one of" list names
//! them) with its meaning and default.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use idemgate_tests::{idemgate, stderr, stdout, write};

/// The keys an "unknown field …, expected one of `a`, `b`" error lists (snake-case aliases
/// dropped), read from the human report however miette wrapped it.
fn expected_keys(report: &str) -> Vec<String> {
    let joined: String = report
        .lines()
        .map(|l| l.trim_start().trim_start_matches('│').trim())
        .collect::<Vec<_>>()
        .join("");
    let after = joined
        .split_once("expected one of")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let list = after.split('╭').next().unwrap_or_default();
    list.split('`')
        .skip(1)
        .step_by(2)
        .filter(|k| !k.contains('_'))
        .map(str::to_string)
        .collect()
}

fn unknown_key_error(table: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "main.rs", "fn main() {}\n");
    write(
        dir.path(),
        "idemgate.toml",
        &format!("{table}\nbogus-key = \"x\"\n"),
    );
    let out = idemgate(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    stderr(&out)
}

#[test]
fn a_config_error_is_located_and_points_to_explain_config() {
    let err = unknown_key_error("fail-level = \"error\"");
    assert!(err.contains("unknown field `bogus-key`"), "{err}");
    assert!(err.contains("idemgate.toml:2:1"), "{err}");
    assert!(
        err.contains("`idemgate explain config` lists every key"),
        "{err}"
    );
}

#[test]
fn explain_config_lists_every_key_the_config_accepts() {
    let explain = idemgate(std::env::temp_dir().as_path(), &["explain", "config"]);
    assert_eq!(explain.status.code(), Some(0));
    let explain = stdout(&explain);
    assert!(explain.contains("Closest config wins"), "{explain}");
    let mut checked = 0;
    for table in [
        "",
        "[limits]",
        "[openapi]",
        "[[exemptions]]\nrule = \"IDEM001\"",
        "[rules]",
    ] {
        let err = unknown_key_error(table);
        if table == "[rules]" {
            // rule ids are not fixed keys: an unknown one names `idemgate rules`
            assert!(err.contains("unknown rule `bogus-key`"), "{err}");
            continue;
        }
        let keys = expected_keys(&err);
        assert!(keys.len() >= 3, "no key list in: {err}");
        for key in keys {
            let documented = [
                format!("# {key} = "),
                format!("[{key}]"),
                format!("[[{key}]]"),
            ]
            .iter()
            .any(|form| explain.contains(form.as_str()));
            assert!(
                documented,
                "`{key}` ({table}) is not in `idemgate explain config`"
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} keys checked");
}
