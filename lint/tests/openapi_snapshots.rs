//! Snapshots of the OpenAPI diagnostics: rule, place, message, labels, related locations and
//! help of every finding on the fixtures, so a change of wording or location is reviewed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::Path;

use idemgate_lint::config::Settings;
use idemgate_lint::engine::check;

fn render(name: &str) -> String {
    let dir = idemgate_lint::discover::absolute(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/openapi")
            .join(name),
    );
    let out = check(std::slice::from_ref(&dir), &Settings::defaults(dir.clone())).unwrap();
    let mut s = String::new();
    for f in &out.findings {
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

macro_rules! snapshot {
    ($test:ident, $dir:literal) => {
        #[test]
        fn $test() {
            insta::assert_snapshot!(render($dir));
        }
    };
}

snapshot!(oas001, "oas001");
snapshot!(oas002, "oas002");
snapshot!(oas003, "oas003");
snapshot!(oas004, "oas004");
snapshot!(oas005, "oas005");
snapshot!(oas006, "oas006");
snapshot!(exemptions, "exemptions");
snapshot!(split, "split");
snapshot!(hostile, "hostile");
snapshot!(split_ops, "split-ops");
snapshot!(documents, "documents");
