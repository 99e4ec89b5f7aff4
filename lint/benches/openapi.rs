//! `idemgate check` on a large OpenAPI spec: wall time and peak memory.
//!
//! ```sh
//! cargo bench -p idemgate-lint --bench openapi -- [SPEC] [runs]
//! cargo bench -p idemgate-lint --bench openapi -- split [FILES] [runs]
//! ```
//! SPEC defaults to `../shared/specs/stripe-spec3-2022-04-12.json` (4.17 MB, 184 OAS001).
//! `split` first generates a spec split over FILES files (default 3,000) in DigitalOcean's
//! shape — a root whose every operation is `post: {$ref: "resources/x/x_create.yml"}`, shared
//! response, header, parameter and model files — in the system temp folder, then measures it.
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

/// Writes a split spec of about `files` files in DigitalOcean's shape under `dir`; returns the
/// root file and the number of files written.
fn generate_split(dir: &Path, files: usize) -> std::io::Result<(PathBuf, usize)> {
    const SHARED: [(&str, &str); 7] = [
        (
            "shared/responses/too_many_requests.yml",
            "description: API Rate limit exceeded\nheaders:\n  ratelimit-limit:\n    $ref: 'headers.yml#/ratelimit-limit'\n  ratelimit-remaining:\n    $ref: 'headers.yml#/ratelimit-remaining'\ncontent:\n  application/json:\n    schema:\n      $ref: '../models/error.yml'\n    example:\n      id: too_many_requests\n      message: API Rate limit exceeded.\n",
        ),
        (
            "shared/responses/unauthorized.yml",
            "description: Unauthorized\ncontent:\n  application/json:\n    schema:\n      $ref: '../models/error.yml'\n",
        ),
        (
            "shared/responses/server_error.yml",
            "description: Server error\nheaders:\n  ratelimit-limit:\n    $ref: 'headers.yml#/ratelimit-limit'\ncontent:\n  application/json:\n    schema:\n      $ref: '../models/error.yml'\n",
        ),
        (
            "shared/responses/unexpected_error.yml",
            "description: Unexpected error\ncontent:\n  application/json:\n    schema:\n      $ref: '../models/error.yml'\n",
        ),
        (
            "shared/responses/headers.yml",
            "ratelimit-limit:\n  description: The default limit on number of requests per hour.\n  schema: {type: integer}\nratelimit-remaining:\n  description: Requests left in the hour.\n  schema: {type: integer}\n",
        ),
        (
            "shared/models/error.yml",
            "type: object\nproperties:\n  id: {type: string, description: a short identifier of the error}\n  message: {type: string}\n  request_id: {type: string}\nrequired: [id, message]\n",
        ),
        (
            "shared/parameters.yml",
            "idempotency_key:\n  in: header\n  name: Idempotency-Key\n  required: true\n  schema: {type: string, maxLength: 255}\nper_page:\n  in: query\n  name: per_page\n  schema: {type: integer, minimum: 1, maximum: 200, default: 20}\npage:\n  in: query\n  name: page\n  schema: {type: integer, minimum: 1, default: 1}\n",
        ),
    ];
    // Per resource: 4 operation files, 3 models, 2 responses, parameters, examples.
    const PER_RESOURCE: usize = 11;
    let resources = files
        .saturating_sub(SHARED.len() + 1)
        .div_ceil(PER_RESOURCE)
        .max(1);
    let _ = std::fs::remove_dir_all(dir);
    let mut written = 0usize;
    let mut write = |rel: &str, text: &str| -> std::io::Result<()> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        written += 1;
        std::fs::write(path, text)
    };
    for (rel, text) in SHARED {
        write(rel, text)?;
    }
    let mut root = String::from(
        "openapi: '3.0.0'\ninfo:\n  title: generated split spec\n  version: '2.0'\nx-idempotency:\n  retention: 24h\nservers:\n  - url: https://api.example.com\npaths:\n",
    );
    let shared = "  '401':\n    $ref: '../../shared/responses/unauthorized.yml'\n  '429':\n    $ref: '../../shared/responses/too_many_requests.yml'\n  '500':\n    $ref: '../../shared/responses/server_error.yml'\n  default:\n    $ref: '../../shared/responses/unexpected_error.yml'\n";
    for r in 0..resources {
        let name = format!("res{r}");
        let d = format!("resources/{name}");
        root.push_str(&format!(
            "  /v2/{name}:\n    get:\n      $ref: '{d}/{name}_list.yml'\n    post:\n      $ref: '{d}/{name}_create.yml'\n  /v2/{name}/{{id}}:\n    patch:\n      $ref: '{d}/{name}_update.yml'\n    delete:\n      $ref: '{d}/{name}_delete.yml'\n"
        ));
        // Every other create takes a key (and documents 409); the others do not.
        let key = if r % 2 == 0 {
            "parameters:\n  - $ref: '../../shared/parameters.yml#/idempotency_key'\n"
        } else {
            ""
        };
        let conflict = if r % 2 == 0 {
            "  '409':\n    description: a request with this key is still being processed\n"
        } else {
            ""
        };
        write(
            &format!("{d}/{name}_create.yml"),
            &format!(
                "operationId: {name}_create\nsummary: Create a new {name}\ntags:\n  - {name}\n{key}requestBody:\n  required: true\n  content:\n    application/json:\n      schema:\n        $ref: 'models/{name}_create.yml'\n      examples:\n        default:\n          $ref: 'examples.yml#/create'\nresponses:\n  '201':\n    $ref: 'responses/{name}_new.yml'\n{conflict}{shared}security:\n  - bearer_auth:\n    - '{name}:create'\n"
            ),
        )?;
        write(
            &format!("{d}/{name}_list.yml"),
            &format!(
                "operationId: {name}_list\nsummary: List all {name}\nparameters:\n  - $ref: '../../shared/parameters.yml#/per_page'\n  - $ref: '../../shared/parameters.yml#/page'\nresponses:\n  '200':\n    $ref: 'responses/{name}_all.yml'\n{shared}"
            ),
        )?;
        write(
            &format!("{d}/{name}_update.yml"),
            &format!(
                "operationId: {name}_update\nsummary: Update a {name}\nparameters:\n  - $ref: 'parameters.yml#/{name}_id'\nrequestBody:\n  content:\n    application/json:\n      schema:\n        $ref: 'models/{name}.yml'\nresponses:\n  '200':\n    $ref: 'responses/{name}_new.yml'\n{shared}"
            ),
        )?;
        write(
            &format!("{d}/{name}_delete.yml"),
            &format!(
                "operationId: {name}_delete\nsummary: Delete a {name}\nparameters:\n  - $ref: 'parameters.yml#/{name}_id'\nresponses:\n  '204':\n    description: deleted\n{shared}"
            ),
        )?;
        write(
            &format!("{d}/parameters.yml"),
            &format!("{name}_id:\n  in: path\n  name: id\n  required: true\n  schema: {{type: integer, minimum: 1}}\n"),
        )?;
        write(
            &format!("{d}/models/{name}.yml"),
            "type: object\nproperties:\n  id: {type: integer, readOnly: true}\n  name: {type: string, maxLength: 255}\n  created_at: {type: string, format: date-time, readOnly: true}\n  tags:\n    type: array\n    items: {type: string}\n",
        )?;
        write(
            &format!("{d}/models/{name}_create.yml"),
            &format!("allOf:\n  - $ref: '{name}.yml'\n  - $ref: '{name}_extra.yml'\n"),
        )?;
        write(
            &format!("{d}/models/{name}_extra.yml"),
            "type: object\nproperties:\n  region: {type: string, enum: [nyc1, sfo3, ams3, fra1]}\n  size: {type: string}\nrequired: [region]\n",
        )?;
        write(
            &format!("{d}/responses/{name}_new.yml"),
            &format!("description: The {name}.\nheaders:\n  ratelimit-limit:\n    $ref: '../../../shared/responses/headers.yml#/ratelimit-limit'\ncontent:\n  application/json:\n    schema:\n      type: object\n      properties:\n        {name}:\n          $ref: '../models/{name}.yml'\n"),
        )?;
        write(
            &format!("{d}/responses/{name}_all.yml"),
            &format!("description: All {name}.\ncontent:\n  application/json:\n    schema:\n      type: object\n      properties:\n        {name}:\n          type: array\n          items:\n            $ref: '../models/{name}.yml'\n"),
        )?;
        write(
            &format!("{d}/examples.yml"),
            &format!("create:\n  summary: Create a {name}\n  value:\n    name: example-{r}\n    region: nyc1\n    size: s-1vcpu-1gb\n"),
        )?;
    }
    root.push_str("components:\n  securitySchemes:\n    bearer_auth:\n      type: http\n      scheme: bearer\n");
    write("openapi.yaml", &root)?;
    Ok((dir.join("openapi.yaml"), written))
}

fn main() {
    let mut args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    // `split [FILES] [runs]`: generate a split spec, then measure it like any other.
    if args.first().map(String::as_str) == Some("split") && std::env::var(CHILD).is_err() {
        let files: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(3_000);
        let dir = std::env::temp_dir().join(format!("idemgate-split-spec-{files}"));
        match generate_split(&dir, files) {
            Ok((root, written)) => {
                println!(
                    "generated a split spec of {written} files in {}",
                    dir.display()
                );
                let runs = args.get(2).cloned();
                args = vec![root.to_string_lossy().into_owned()];
                args.extend(runs);
            }
            Err(e) => {
                eprintln!("cannot write the split spec in {}: {e}", dir.display());
                return;
            }
        }
    }
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
    // `REDOCLY=path`, else a `redocly` on PATH (npm install -g @redocly/cli).
    let cli = std::env::var("REDOCLY").ok().or_else(|| {
        let found = Command::new("redocly").arg("--version").output();
        found
            .ok()
            .filter(|o| o.status.success())
            .map(|_| "redocly".to_string())
    });
    match cli {
        Some(cli) => redocly(&cli, &spec),
        None => println!("redocly: not found (set REDOCLY=path or npm install -g @redocly/cli)"),
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
