//! `xtask real-diff`: the lazy front-end and `--full-syntax` must find the same on real code.
//!
//! ```text
//! cargo run -p xtask --release -- real-diff CORPUS_DIR [--gate target/release/idemgate]
//! ```
//!
//! Every folder under `CORPUS_DIR` is checked twice, with the default (lazy) front-end, which
//! parses only the items its lexer finds relevant, and with `--full-syntax`, which parses every
//! item. Findings are compared by rule, file, line and message; any difference is printed and
//! makes the command exit 1. The fixture half of this check is `lint/tests/rust_fixtures.rs`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::real::{parse_findings, run_gate, RunEnd, CHECK_ARGS};

type Key = (String, String, u32, String);

fn findings(
    gate: &std::path::Path,
    dir: &std::path::Path,
    full: bool,
) -> Result<BTreeSet<Key>, String> {
    let mut args = CHECK_ARGS.to_vec();
    if full {
        args.push("--full-syntax");
    }
    match run_gate(gate, dir, &args, Duration::from_secs(600))? {
        (RunEnd::Exited(Some(0 | 1), json), _) => Ok(parse_findings(&json, dir)?
            .into_iter()
            .map(|f| (f.rule, f.file, f.line, f.message))
            .collect()),
        (RunEnd::Exited(code, _), _) => Err(format!("{}: exited with {code:?}", dir.display())),
        (RunEnd::Hung, _) => Err(format!("{}: hung", dir.display())),
    }
}

pub fn main(args: &[String]) -> ExitCode {
    let Some(corpus) = args.first().map(PathBuf::from) else {
        eprintln!("usage: xtask real-diff CORPUS_DIR [--gate PATH]");
        return ExitCode::from(2);
    };
    let gate = args
        .iter()
        .position(|a| a == "--gate")
        .and_then(|i| args.get(i + 1))
        .map_or_else(|| PathBuf::from("target/release/idemgate"), PathBuf::from);
    let gate = match std::fs::canonicalize(&gate) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("real-diff: {}: {e}", gate.display());
            return ExitCode::from(2);
        }
    };
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(&corpus) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(e) => {
            eprintln!("real-diff: {}: {e}", corpus.display());
            return ExitCode::from(2);
        }
    };
    dirs.sort();
    let mut differ = 0usize;
    for dir in &dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let base = match std::fs::canonicalize(dir) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("real-diff: {}: {e}", dir.display());
                return ExitCode::from(2);
            }
        };
        let (lazy, full) = match (findings(&gate, &base, false), findings(&gate, &base, true)) {
            (Ok(l), Ok(f)) => (l, f),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("real-diff: {e}");
                return ExitCode::from(2);
            }
        };
        let only_lazy: Vec<&Key> = lazy.difference(&full).collect();
        let only_full: Vec<&Key> = full.difference(&lazy).collect();
        println!(
            "{name:<16} {:>6} findings  lazy-only {:>3}  full-only {:>3}",
            lazy.len(),
            only_lazy.len(),
            only_full.len()
        );
        for (side, keys) in [("lazy only", &only_lazy), ("full only", &only_full)] {
            for (rule, file, line, msg) in keys.iter() {
                println!("  {side}: {rule} {file}:{line} {msg}");
            }
        }
        differ += only_lazy.len() + only_full.len();
    }
    if differ == 0 {
        println!("the lazy and the full front-end agree on every project");
        ExitCode::SUCCESS
    } else {
        println!("{differ} findings differ");
        ExitCode::FAILURE
    }
}
