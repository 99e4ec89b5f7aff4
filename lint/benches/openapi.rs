//! `idemgate check` on a large OpenAPI spec: wall time and peak memory.
//!
//! ```sh
//! cargo bench -p idemgate-lint --bench openapi -- [SPEC] [runs]
//! ```
//! SPEC defaults to `../shared/specs/stripe-spec3-2022-04-12.json` (4.17 MB, 184 OAS001).
//! Each run is a fresh child process (this binary re-executed) doing the whole check —
//! discovery, parse, `$ref` resolution, rules, JSON report rendering — so the peak resident
//! memory (`VmHWM`) is the check's own, not the sum of all runs. Prints the median and best
//! wall time (process start to exit) and the peak memory.
//!
//! To compare with Redocly in the same run, point `REDOCLY` at its CLI (e.g.
//! `REDOCLY=/tmp/redocly/node_modules/.bin/redocly`); the bench writes a config with one
//! configurable rule that fires on every POST/PATCH without `x-idempotency` (the same 184
//! operations) and times `redocly lint` under `/usr/bin/time`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use idemgate_lint::config::Settings;
use idemgate_lint::engine;
use idemgate_lint::report::{render, Format};

const CHILD: &str = "IDEMGATE_BENCH_CHILD";

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// One check in this process, rendered in `format`; prints `findings oas001 rss_kb`.
fn child(spec: &Path, format: Format) {
    let root = spec
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let settings = Settings::defaults(root);
    let out = match engine::check(&[spec.to_path_buf()], &settings) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("check failed: {e}");
            std::process::exit(2);
        }
    };
    let report = render(&out, format, false);
    std::hint::black_box(report);
    let oas001 = out.findings.iter().filter(|f| f.rule == "OAS001").count();
    println!("{} {} {}", out.findings.len(), oas001, peak_rss_kb());
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn redocly(cli: &str, spec: &Path) {
    let dir = std::env::temp_dir().join("idemgate-bench-redocly");
    let _ = std::fs::create_dir_all(&dir);
    let config = dir.join("redocly.yaml");
    let _ = std::fs::write(
        &config,
        "rules:\n  rule/operation-missing-idempotency:\n    subject:\n      type: Operation\n      filterInParentKeys: [post, patch]\n    assertions:\n      required: [x-idempotency]\n    message: operation declares no idempotency\n    severity: error\n",
    );
    let mut times = Vec::new();
    let mut peak = 0u64;
    for _ in 0..3 {
        let start = Instant::now();
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(cli)
            .arg("lint")
            .arg(spec)
            .arg("--config")
            .arg(&config)
            .arg("--format=summary")
            .env("REDOCLY_TELEMETRY", "off")
            .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true")
            .output();
        let took = start.elapsed();
        let Ok(out) = out else {
            eprintln!("could not run {cli}");
            return;
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        if let Some(kb) = stderr
            .lines()
            .last()
            .and_then(|l| l.trim().parse::<u64>().ok())
        {
            peak = peak.max(kb);
        }
        times.push(took);
    }
    let med = median(times.clone());
    println!(
        "redocly lint:                median {:>8.1} ms, best {:>8.1} ms, peak RSS {:>6.1} MB",
        med.as_secs_f64() * 1e3,
        times
            .iter()
            .min()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3,
        peak as f64 / 1024.0
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let spec = args.first().map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/specs/stripe-spec3-2022-04-12.json")
    });
    let spec = idemgate_lint::discover::absolute(&spec);
    if let Ok(format) = std::env::var(CHILD) {
        let format = if format == "human" {
            Format::Human
        } else {
            Format::Json
        };
        child(&spec, format);
        return;
    }
    if !spec.is_file() {
        eprintln!(
            "no spec at {}; pass one: cargo bench -p idemgate-lint --bench openapi -- SPEC",
            spec.display()
        );
        return;
    }
    let runs: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(9);
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cannot find this bench binary: {e}");
            return;
        }
    };
    let size = std::fs::metadata(&spec).map_or(0, |m| m.len());
    println!(
        "spec: {} ({:.2} MB), {runs} runs, each a fresh process",
        spec.display(),
        size as f64 / 1e6
    );
    for format in ["json", "human"] {
        measure(&exe, &spec, runs, format);
    }
    if let Ok(cli) = std::env::var("REDOCLY") {
        redocly(&cli, &spec);
    }
}

fn measure(exe: &Path, spec: &Path, runs: usize, format: &str) {
    let mut times = Vec::new();
    let mut peak = 0u64;
    let mut summary = String::new();
    for _ in 0..runs {
        let start = Instant::now();
        let out = Command::new(exe).arg(spec).env(CHILD, format).output();
        let took = start.elapsed();
        let Ok(out) = out else {
            eprintln!("could not run the child");
            return;
        };
        let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let mut parts = line.split_whitespace();
        let findings = parts.next().unwrap_or("?").to_string();
        let oas001 = parts.next().unwrap_or("?").to_string();
        let rss: u64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        peak = peak.max(rss);
        summary = format!("{findings} findings, {oas001} OAS001");
        times.push(took);
    }
    let med = median(times.clone());
    println!(
        "idemgate check ({format:>5} report): median {:>8.1} ms, best {:>8.1} ms, peak RSS {:>6.1} MB ({summary})",
        med.as_secs_f64() * 1e3,
        times.iter().min().copied().unwrap_or_default().as_secs_f64() * 1e3,
        peak as f64 / 1024.0
    );
}
