//! Code and spec as one contract (SPEC001–SPEC003) on fixtures/contract: each case is a crate
//! with its spec (axum, actix-web, poem; nested prefixes, spec path parameters) or a config
//! pairing them. The SPEC findings must be exactly the `//~ RULE` (Rust) and `#~ RULE` (YAML)
//! marks, and their diagnostics are snapshotted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use idemgate_lint::config;
use idemgate_lint::engine::{check, Outcome};

fn case(name: &str) -> PathBuf {
    idemgate_lint::discover::absolute(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/contract")
            .join(name),
    )
}

fn run(name: &str) -> Outcome {
    let dir = case(name);
    let settings = config::load(None, &dir, Some(dir.clone())).unwrap();
    check(std::slice::from_ref(&dir), &settings).unwrap()
}

type Mark = (String, String, u32);

fn marks(root: &Path, dir: &Path, out: &mut BTreeSet<Mark>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            marks(root, &p, out);
            continue;
        }
        let sigil = match p.extension().and_then(|e| e.to_str()) {
            Some("rs") => "//~",
            Some("yaml" | "yml" | "json") => "#~",
            _ => continue,
        };
        let rel = p
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        for (i, line) in std::fs::read_to_string(&p).unwrap().lines().enumerate() {
            if let Some(at) = line.find(sigil) {
                for rule in line[at + sigil.len()..].split_whitespace() {
                    if rule.starts_with("SPEC") {
                        out.insert((rule.to_string(), rel.clone(), i as u32 + 1));
                    }
                }
            }
        }
    }
}

fn spec_findings(out: &Outcome) -> Vec<&idemgate_rules::Finding> {
    out.findings
        .iter()
        .filter(|f| f.rule.starts_with("SPEC"))
        .collect()
}

fn assert_marks(name: &str) -> Outcome {
    let out = run(name);
    let mut expected = BTreeSet::new();
    marks(&case(name), &case(name), &mut expected);
    assert!(
        !expected.is_empty(),
        "{name}: a case without marks proves nothing"
    );
    let found = spec_findings(&out);
    let actual: BTreeSet<Mark> = found
        .iter()
        .map(|f| {
            (
                f.rule.to_string(),
                f.location.file.to_string(),
                f.location.line,
            )
        })
        .collect();
    assert_eq!(actual.len(), found.len(), "{name}: one finding per mark");
    let missing: Vec<_> = expected.difference(&actual).collect();
    let unexpected: Vec<_> = actual.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "{name}: missing {missing:#?}\nunexpected {unexpected:#?}"
    );
    out
}

fn render(out: &Outcome) -> String {
    let mut s = String::new();
    for f in spec_findings(out) {
        let l = &f.location;
        writeln!(
            s,
            "{} {} {}:{}:{}-{}:{} {}",
            f.rule,
            f.severity.as_str(),
            l.file,
            l.line,
            l.column,
            l.end_line,
            l.end_column,
            f.message
        )
        .unwrap();
        writeln!(s, "    label: {}", f.label).unwrap();
        for r in &f.related {
            let rl = &r.location;
            writeln!(
                s,
                "    related: {}:{}:{} {}",
                rl.file, rl.line, rl.column, r.message
            )
            .unwrap();
        }
        if let Some(h) = &f.help {
            writeln!(s, "    help: {h}").unwrap();
        }
        writeln!(s, "    key: {}", f.key).unwrap();
    }
    s
}

#[test]
fn axum_servers_prefix_and_nested_routers() {
    let out = assert_marks("axum");
    insta::assert_snapshot!("contract_axum", render(&out));
}

#[test]
fn actix_scopes_and_swagger_base_path() {
    let out = assert_marks("actix");
    insta::assert_snapshot!("contract_actix", render(&out));
}

#[test]
fn poem_nests_and_server_variables() {
    let out = assert_marks("poem");
    insta::assert_snapshot!("contract_poem", render(&out));
}

#[test]
fn config_pairs_two_specs_with_one_crate() {
    let out = assert_marks("config");
    insta::assert_snapshot!("contract_config", render(&out));
}

#[test]
fn a_spec_outside_any_package_pairs_with_nothing_without_config() {
    let dir = case("config");
    let settings = config::Settings::defaults(dir.clone());
    let out = check(std::slice::from_ref(&dir), &settings).unwrap();
    assert!(spec_findings(&out).is_empty(), "{:#?}", spec_findings(&out));
    // but the gate still checked the specs and the code
    assert!(out.files_scanned >= 3);
}

fn config_error(text: &str) -> String {
    let dir = case("config");
    let err = config::from_text(&dir.join("idemgate.toml"), text, false, dir.clone())
        .expect_err("the config must be refused");
    let span = err.span.map(|s| &text[s.offset()..s.offset() + s.len()]);
    format!("{} @ {:?}", err.message, span)
}

#[test]
fn contract_entries_are_checked_where_they_are_written() {
    assert_eq!(
        config_error("[[contracts]]\nspec = \"specs/nope.yaml\"\ncode = [\"service\"]\n"),
        "contract spec `specs/nope.yaml` does not exist @ Some(\"\\\"specs/nope.yaml\\\"\")"
    );
    assert_eq!(
        config_error(
            "[[contracts]]\nspec = \"specs/admin.yaml\"\ncode = [\"service\", \"gone\"]\n"
        ),
        "contract code folder `gone` does not exist @ Some(\"\\\"gone\\\"\")"
    );
    assert_eq!(
        config_error("[[contracts]]\nspec = \"specs/admin.yaml\"\ncode = []\n"),
        "a contract needs at least one `code` folder @ Some(\"[]\")"
    );
    assert_eq!(
        config_error(
            "[[contracts]]\nspec = \"specs/admin.yaml\"\ncode = [\"service\"]\nbase-path = \"v1\"\n"
        ),
        "`base-path` `v1` must start with `/` @ Some(\"\\\"v1\\\"\")"
    );
    assert!(config_error(
        "[[contracts]]\nspec = \"specs/admin.yaml\"\ncode = [\"service\"]\nbase = \"/\"\n"
    )
    .starts_with("invalid idemgate config: unknown field `base`"));
}

#[test]
fn checking_the_code_alone_reads_its_contract_spec_too() {
    let dir = case("config");
    let settings = config::load(None, &dir, Some(dir.clone())).unwrap();
    let out = check(&[dir.join("service")], &settings).unwrap();
    let found: Vec<(&str, &str, u32)> = spec_findings(&out)
        .iter()
        .map(|f| (f.rule, &*f.location.file, f.location.line))
        .collect();
    assert_eq!(found, [("SPEC003", "service/src/main.rs", 18)]);
    // the specs were read: two more files than the crate's one
    assert_eq!(out.files_scanned, 3);
}

#[test]
fn a_nearer_config_declares_its_own_contracts() {
    let tmp = tempfile::tempdir().unwrap();
    let root = idemgate_lint::discover::absolute(tmp.path());
    let put = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    put("idemgate.toml", "fail-level = \"error\"\n");
    put(
        "services/a/idemgate.toml",
        "[[contracts]]\nspec = \"spec/api.yaml\"\ncode = [\"src\"]\n",
    );
    put(
        "services/a/spec/api.yaml",
        "openapi: 3.1.0\ninfo: {title: a, version: \"1\"}\npaths:\n  /jobs:\n    post:\n      responses: {\"201\": {description: ok}}\n  /gone:\n    get:\n      responses: {\"200\": {description: ok}}\n",
    );
    put(
        "services/a/src/main.rs",
        "use axum::{routing::post, Router};\n#[idempotent(key = header(\"Idempotency-Key\"))]\nasync fn create() {}\nfn main() { let _r: Router = Router::new().route(\"/jobs\", post(create)); }\n",
    );
    let settings = config::load(None, &root, Some(root.clone())).unwrap();
    let out = check(std::slice::from_ref(&root), &settings).unwrap();
    let mut found: Vec<(&str, &str, u32)> = spec_findings(&out)
        .iter()
        .map(|f| (f.rule, &*f.location.file, f.location.line))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("SPEC002", "services/a/src/main.rs", 2),
            ("SPEC003", "services/a/spec/api.yaml", 8),
        ]
    );
}

#[test]
fn a_crate_without_routes_does_not_serve_the_spec_it_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let root = idemgate_lint::discover::absolute(tmp.path());
    let put = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    // a client crate generated from the API it calls
    put(
        "client/Cargo.toml",
        "[package]\nname = \"client\"\nversion = \"0.1.0\"\n",
    );
    put(
        "client/src/lib.rs",
        "pub fn base() -> &'static str { \"/v1\" }\n",
    );
    put(
        "client/api.yaml",
        "openapi: 3.1.0\ninfo: {title: a, version: \"1\"}\npaths:\n  /jobs:\n    get:\n      responses: {\"200\": {description: ok}}\n",
    );
    let out = check(
        std::slice::from_ref(&root),
        &config::Settings::defaults(root.clone()),
    )
    .unwrap();
    assert!(spec_findings(&out).is_empty(), "{:#?}", spec_findings(&out));
    // the same crate once it serves a route: the operation it does not serve is reported
    put(
        "client/src/lib.rs",
        "use axum::{routing::get, Router};\nasync fn other() {}\npub fn app() -> Router { Router::new().route(\"/other\", get(other)) }\n",
    );
    let out = check(
        std::slice::from_ref(&root),
        &config::Settings::defaults(root.clone()),
    )
    .unwrap();
    let found: Vec<(&str, &str, u32)> = spec_findings(&out)
        .iter()
        .map(|f| (f.rule, &*f.location.file, f.location.line))
        .collect();
    assert_eq!(found, [("SPEC003", "client/api.yaml", 5)]);
}
