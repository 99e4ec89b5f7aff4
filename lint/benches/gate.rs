//! The gate against a bare parse, side by side in one run.
//!
//! ```sh
//! cargo run -p xtask --release -- gen-corpus target/corpus --mb 40
//! cargo bench -p idemgate-lint --bench gate -- target/corpus [threads] [runs]
//! ```
//! Prints, for the same files and the same thread count, the median wall time of
//! (a) a bare read + `syn::parse_file` of every `.rs` file and (b) the whole
//! `idemgate check` (discovery, parsing, linking, rules, report rendering), and their ratio.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use idemgate_lint::config::Settings;
use idemgate_lint::engine;
use idemgate_lint::report::{render, Format};
use rayon::prelude::*;

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    ignore::WalkBuilder::new(dir)
        .build()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect()
}

fn bare_parse(files: &[PathBuf]) -> usize {
    files
        .par_iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            usize::from(syn::parse_file(&text).is_ok())
        })
        .sum()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let dir = PathBuf::from(
        args.first()
            .cloned()
            .unwrap_or_else(|| "target/corpus".into()),
    );
    let dir = idemgate_lint::discover::absolute(&dir);
    if !dir.is_dir() {
        eprintln!(
            "no corpus at {}; generate one with `cargo run -p xtask --release -- gen-corpus {} --mb 40`",
            dir.display(),
            dir.display()
        );
        return;
    }
    let threads: usize = args
        .get(1)
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let runs: usize = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(5);
    let files = rust_files(&dir);
    let bytes: u64 = files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(64 * 1024 * 1024)
        .build()
        .unwrap_or_else(|e| panic!("thread pool: {e}"));
    let mut settings = Settings::defaults(dir.clone());
    settings.threads = threads;
    let mut strict = settings.clone();
    strict.full_syntax = !settings.full_syntax;

    let mut parse_times = Vec::new();
    let mut check_times = Vec::new();
    let mut strict_times = Vec::new();
    let mut findings = 0;
    // Alternate the two so both see the same machine load and cache state.
    for _ in 0..runs {
        let t = Instant::now();
        let parsed = pool.install(|| bare_parse(&files));
        parse_times.push(t.elapsed());
        assert!(parsed > 0, "the corpus has no parsable file");

        let t = Instant::now();
        let outcome = engine::check(std::slice::from_ref(&dir), &settings)
            .unwrap_or_else(|e| panic!("check failed: {e}"));
        let report = render(&outcome, Format::Json, false);
        check_times.push(t.elapsed());
        findings = outcome.findings.len();
        std::hint::black_box(report);

        let t = Instant::now();
        let outcome = engine::check(std::slice::from_ref(&dir), &strict)
            .unwrap_or_else(|e| panic!("check failed: {e}"));
        std::hint::black_box(render(&outcome, Format::Json, false));
        strict_times.push(t.elapsed());
    }
    let parse = median(parse_times);
    let check = median(check_times);
    println!(
        "corpus: {} files, {:.1} MB; threads: {threads}; runs: {runs}",
        files.len(),
        bytes as f64 / 1e6
    );
    println!(
        "bare read+syn::parse_file: {:>8.1} ms",
        parse.as_secs_f64() * 1e3
    );
    println!(
        "idemgate check (json):     {:>8.1} ms  ({findings} findings)",
        check.as_secs_f64() * 1e3
    );
    let strict = median(strict_times);
    let (mode, other) = if settings.full_syntax {
        ("--full-syntax", "default")
    } else {
        ("items parsed, unused fn bodies lexed", "--full-syntax")
    };
    println!(
        "ratio check/parse: {:.2}  (default: {mode})",
        check.as_secs_f64() / parse.as_secs_f64()
    );
    println!(
        "idemgate check ({other}): {:>8.1} ms  ratio {:.2}",
        strict.as_secs_f64() * 1e3,
        strict.as_secs_f64() / parse.as_secs_f64()
    );
}
