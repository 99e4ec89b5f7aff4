//! Developer tasks for the gate benchmark.
//!
//! ```text
//! cargo run -p xtask --release -- gen-corpus DIR --mb 40 [--seed N]
//! cargo run -p xtask --release -- bench-parse DIR [--threads N] [--gate target/release/idemgate]
//! cargo run -p xtask --release -- real-check CORPUS_DIR [--gate PATH] [--tests-real DIR]
//!     [--timeout SECS] [--runs N] [--only NAME,...] [--verbose] [--todo FILE]
//! ```
//!
//! `gen-corpus` writes a deterministic (seeded) corpus of realistic service crates: domain
//! types, business logic, handlers and routers across modules, HTTP clients, background jobs,
//! loops of every shape (retries, polling, draining, pacing) and tests.
//! `bench-parse` prints the wall time of a bare read + `syn::parse_file` of every `.rs` file on
//! N threads and, with `--gate`, the wall time of `idemgate check` on the same files and
//! threads, in the same run.
//! `real-check` scores the gate on real services against the hand-judged truth of `tests/real`
//! (see `tests/real/README.md`).
#![forbid(unsafe_code)]

mod corpus;
mod differential;
mod loops;
mod real;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use rayon::prelude::*;

fn usage() -> ExitCode {
    eprintln!(
        "usage:\n  xtask gen-corpus DIR [--mb N] [--seed N]\n  xtask bench-parse DIR [--threads N] [--gate PATH_TO_IDEMGATE] [--runs N]\n  xtask real-check CORPUS_DIR [--gate PATH] [--tests-real DIR] [--timeout SECS] [--runs N] [--only NAME,...] [--verbose] [--todo FILE]\n  xtask real-loops CORPUS_DIR [--gate PATH] [--tests-real DIR] [--timeout SECS] [--only NAME,...] [--verbose]\n  xtask real-diff CORPUS_DIR [--gate PATH]"
    );
    ExitCode::from(2)
}

fn flag<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|c| c == "real-check") {
        return real::main(&args[1..]);
    }
    if args.first().is_some_and(|c| c == "real-loops") {
        return loops::main(&args[1..]);
    }
    if args.first().is_some_and(|c| c == "real-diff") {
        return differential::main(&args[1..]);
    }
    let (Some(cmd), Some(dir)) = (args.first(), args.get(1)) else {
        return usage();
    };
    let dir = PathBuf::from(dir);
    match cmd.as_str() {
        "gen-corpus" => {
            let mb: u64 = flag(&args, "--mb").unwrap_or(40);
            let seed: u64 = flag(&args, "--seed").unwrap_or(42);
            match corpus::generate(&dir, mb * 1024 * 1024, seed) {
                Ok((files, bytes)) => {
                    println!(
                        "wrote {files} files, {:.1} MB, into {}",
                        bytes as f64 / 1_048_576.0,
                        dir.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("gen-corpus: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        "bench-parse" => {
            let threads: usize = flag(&args, "--threads")
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            let runs: usize = flag(&args, "--runs").unwrap_or(3).max(1);
            let gate: Option<PathBuf> = flag(&args, "--gate");
            bench(&dir, threads, runs, gate.as_deref())
        }
        _ => usage(),
    }
}

pub(crate) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let t = e.file_type()?;
        let p = e.path();
        if t.is_dir() {
            let name = e.file_name();
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                rust_files(&p, out)?;
            }
        } else if t.is_file() && p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    Ok(())
}

/// A bare parse: read and `syn::parse_file` every file on `threads` threads.
fn bare_parse(files: &[PathBuf], threads: usize) -> Result<(f64, usize, u64), String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(64 * 1024 * 1024)
        .build()
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    let (errors, bytes) = pool.install(|| {
        files
            .par_iter()
            .map(|p| match std::fs::read_to_string(p) {
                Ok(text) => {
                    let n = text.len() as u64;
                    (usize::from(syn::parse_file(&text).is_err()), n)
                }
                Err(_) => (1, 0),
            })
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    Ok((start.elapsed().as_secs_f64(), errors, bytes))
}

fn run_gate(gate: &Path, dir: &Path, threads: usize) -> Result<f64, String> {
    let start = Instant::now();
    let status = std::process::Command::new(gate)
        .arg("check")
        .arg(dir)
        .args(["--format", "json", "--output", "/dev/null", "--threads"])
        .arg(threads.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {}: {e}", gate.display()))?;
    let secs = start.elapsed().as_secs_f64();
    // exit 1 means findings, which a realistic corpus has
    match status.code() {
        Some(0 | 1) => Ok(secs),
        other => Err(format!("idemgate check exited with {other:?}")),
    }
}

fn bench(dir: &Path, threads: usize, runs: usize, gate: Option<&Path>) -> ExitCode {
    let mut files = Vec::new();
    if let Err(e) = rust_files(dir, &mut files) {
        eprintln!("bench-parse: {e}");
        return ExitCode::FAILURE;
    }
    files.sort();
    let mut best_parse = f64::INFINITY;
    let mut best_gate = f64::INFINITY;
    let mut info = (0, 0);
    for run in 0..runs {
        match bare_parse(&files, threads) {
            Ok((secs, errors, bytes)) => {
                best_parse = best_parse.min(secs);
                info = (errors, bytes);
                println!("run {}: bare read+syn::parse_file  {secs:.3}s", run + 1);
            }
            Err(e) => {
                eprintln!("bench-parse: {e}");
                return ExitCode::FAILURE;
            }
        }
        if let Some(g) = gate {
            match run_gate(g, dir, threads) {
                Ok(secs) => {
                    best_gate = best_gate.min(secs);
                    println!("run {}: idemgate check              {secs:.3}s", run + 1);
                }
                Err(e) => {
                    eprintln!("bench-parse: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    println!(
        "{} files, {:.1} MB, {} threads, {} parse errors",
        files.len(),
        info.1 as f64 / 1_048_576.0,
        threads,
        info.0
    );
    println!("bare parse (best of {runs}): {best_parse:.3}s");
    if gate.is_some() {
        println!("idemgate check (best of {runs}): {best_gate:.3}s");
        println!("ratio gate / bare parse: {:.2}", best_gate / best_parse);
    }
    ExitCode::SUCCESS
}
