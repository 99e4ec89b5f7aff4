//! Name resolution on glob-heavy crates: time per module must stay flat as crates grow.
//!
//! ```sh
//! cargo bench -p idemgate-lint --bench link
//! ```
//! For each size N (10 → 2,000 modules) a synthetic crate is written to a temporary folder:
//! the root declares every module and re-exports each with `pub use m_i::*;`, every module
//! imports `use crate::*;` and `use super::*;` (glob cycles through the root), and every
//! module registers a route whose handler lives in another module and is named through the
//! globs only. The whole `idemgate check` runs on it (median of 5); the table shows the time
//! per module, which stays flat when resolution is linear (it grew about 4× per glob hop
//! before resolution was memoized).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use idemgate_lint::config::Settings;
use idemgate_lint::engine;

fn write_crate(dir: &std::path::Path, n: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"synthetic\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )?;
    let mut lib = String::from("use axum::{routing::post, Router};\n");
    for i in 0..n {
        let _ = writeln!(lib, "mod m{i};\npub use m{i}::*;");
    }
    lib.push_str("pub fn app() -> Router {\n    Router::new()");
    for i in 0..n {
        let _ = write!(lib, "\n        .merge(router{i}())");
    }
    lib.push_str("\n}\n");
    std::fs::write(dir.join("src/lib.rs"), lib)?;
    for i in 0..n {
        let next = (i + 1) % n;
        let text = format!(
            "use crate::*;\nuse super::*;\n\npub async fn handler{i}() -> &'static str {{ \"ok\" }}\n\n\
             pub fn router{i}() -> Router {{\n    Router::new().route(\"/r{i}\", post(handler{next}))\n}}\n"
        );
        std::fs::write(dir.join(format!("src/m{i}.rs")), text)?;
    }
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    println!(
        "{:>8} {:>12} {:>16} {:>10}",
        "modules", "check (ms)", "per module (µs)", "IDEM001"
    );
    for n in [10usize, 100, 500, 1000, 2000] {
        let Ok(tmp) = tempfile::tempdir() else {
            eprintln!("cannot create a temporary folder");
            return;
        };
        if let Err(e) = write_crate(tmp.path(), n) {
            eprintln!("cannot write the synthetic crate: {e}");
            return;
        }
        let settings = Settings::defaults(tmp.path().to_path_buf());
        let paths = vec![tmp.path().to_path_buf()];
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let Ok(outcome) = engine::check(&paths, &settings) else {
                eprintln!("check failed");
                return;
            };
            times.push(t.elapsed());
            found = outcome
                .findings
                .iter()
                .filter(|f| f.rule == "IDEM001")
                .count();
        }
        let m = median(times);
        println!(
            "{:>8} {:>12.1} {:>16.1} {:>10}",
            n,
            m.as_secs_f64() * 1e3,
            m.as_secs_f64() * 1e6 / n as f64,
            found
        );
    }
}
