//! What adoption costs on top of a scan: the baseline (write, read, apply) and the
//! `--changed-since` filter, on synthetic inputs of a large fleet's size.
//!
//! ```sh
//! cargo bench -p idemgate-lint --bench adoption -- [runs]
//! ```
//! Baselines of 1,000 / 10,000 / 100,000 findings (IDEM001/RETRY001/OAS001 over 1 file per
//! 10 findings, 1 key in 20 repeated); the diff-mode filter over a 5,000-operation YAML spec
//! (one finding per operation, one hunk changed) and over 10,000 Rust findings in 1,000 files,
//! 100 of them changed. Prints the median and best of `runs` (default 9) per step.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use idemgate_lint::baseline::Baseline;
use idemgate_lint::changed::{self, Changes, Lines};
use idemgate_rules::rules::{idem001, oas001, retry001};
use idemgate_rules::{Finding, Location};

fn at(file: &str, line: u32) -> Location {
    let mut l = Location::file_start(Arc::from(file));
    l.line = line;
    l
}

fn findings(n: usize) -> Vec<Finding> {
    (0..n)
        .map(|i| {
            let file = format!("crates/svc{}/src/api/m{}.rs", i / 1000, i / 10);
            let line = u32::try_from(i % 10 * 20 + 1).unwrap_or(1);
            let key_n = if i % 20 == 0 { i + 1 } else { i };
            match i % 3 {
                0 => Finding::new(&idem001::META, at(&file, line), "handler has no strategy")
                    .key(format!("crate::api::create_{key_n}:POST")),
                1 => Finding::new(&retry001::META, at(&file, line), "loop retries by hand")
                    .key(format!("crate::api::poll_{key_n}:client.get")),
                _ => Finding::new(&oas001::META, at("api/openapi.yaml", line), "no key")
                    .key(format!("op{key_n}"))
                    .pointer(format!("#/paths/~1r{key_n}/post")),
            }
        })
        .collect()
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let mut all: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    all.sort();
    (all[all.len() / 2], all[0])
}

fn print(what: &str, (median, best): (Duration, Duration)) {
    println!(
        "{what:<58} median {:>9.3} ms   best {:>9.3} ms",
        median.as_secs_f64() * 1e3,
        best.as_secs_f64() * 1e3
    );
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(9)
        .max(1);
    let tmp = std::env::temp_dir().join(format!("idemgate-bench-adoption-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&tmp);

    for n in [1_000, 10_000, 100_000] {
        let all = findings(n);
        let base = Baseline::from_findings(&all);
        let text = base.to_json();
        print(
            &format!("baseline write {n} findings ({} KB)", text.len() / 1024),
            time(runs, || Baseline::from_findings(&all).to_json()),
        );
        print(
            &format!("baseline read {n} findings"),
            time(runs, || Baseline::parse(Path::new("b.json"), &text)),
        );
        print(
            &format!("baseline apply {n} findings (all baselined)"),
            time(runs, || base.apply(all.clone()).baselined),
        );
        print(
            &format!("  (clone of the {n} findings, included above)"),
            time(runs, || all.clone()),
        );
    }

    // diff mode over a large spec: one finding per operation, one hunk changed
    let ops = 5_000;
    let mut spec = String::from("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n");
    let mut spec_findings = Vec::new();
    for i in 0..ops {
        let line = u32::try_from(spec.lines().count() + 2).unwrap_or(0);
        spec.push_str(&format!(
            "  /r{i}:\n    post:\n      operationId: op{i}\n      parameters:\n        - {{in: query, name: q, schema: {{type: string}}}}\n      responses:\n        '201':\n          description: ok\n"
        ));
        spec_findings.push(Finding::new(
            &oas001::META,
            at("openapi.yaml", line),
            "no key",
        ));
    }
    let _ = std::fs::write(tmp.join("openapi.yaml"), &spec);
    let mut changes = Changes::default();
    changes
        .files
        .insert("openapi.yaml".into(), Lines::Ranges(vec![(20_000, 20_001)]));
    let kept = changed::filter(spec_findings.clone(), &changes, &tmp).len();
    print(
        &format!(
            "changed-since filter, {ops}-operation spec ({} lines), {kept} kept",
            spec.lines().count()
        ),
        time(runs, || {
            changed::filter(spec_findings.clone(), &changes, &tmp).len()
        }),
    );

    let rust = findings(10_000)
        .into_iter()
        .filter(|f| f.rule != "OAS001")
        .collect::<Vec<_>>();
    let mut changes = Changes::default();
    for i in (0..1000).step_by(10) {
        changes.files.insert(
            format!("crates/svc{}/src/api/m{i}.rs", i / 100),
            Lines::Ranges(vec![(1, 1)]),
        );
    }
    let kept = changed::filter(rust.clone(), &changes, &tmp).len();
    print(
        &format!(
            "changed-since filter, {} Rust findings, {kept} kept",
            rust.len()
        ),
        time(runs, || changed::filter(rust.clone(), &changes, &tmp).len()),
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
