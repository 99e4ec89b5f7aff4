//! Code and spec as one contract, at scale: the Stripe spec (417 operations) paired with a
//! synthetic 10,000-route axum crate that serves every Stripe operation plus 9,583 more routes.
//!
//! ```sh
//! cargo bench -p idemgate-lint --bench contract            # SPEC=path/to/stripe.json to override
//! ```
//! SPEC defaults to `../shared/specs/stripe-spec3-2022-04-12.json` beside the repository. The
//! crate and a copy of the spec are written to a temporary folder. Printed (median of 7):
//! pairing + matching alone (`contract::link` on the linked model), the SPEC rules on its
//! result, and the whole `idemgate check` of the folder, with the counts that prove the work
//! was done (matches, unmatched routes and operations, SPEC findings). Pairing and matching are
//! linear: one hash map of the operations per contract, one lookup per route.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use idemgate_lint::config::Settings;
use idemgate_lint::source::{FileKind, SourceFile, SourcePath};
use idemgate_lint::{contract, engine, openapi, rust};
use idemgate_rules::{registry, Model};

const ROUTES: usize = 10_000;
const PER_MODULE: usize = 100;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let out = f();
        times.push(t.elapsed());
        last = Some(out);
    }
    match last {
        Some(out) => (median(times), out),
        None => (Duration::ZERO, f()),
    }
}

/// The spec's operations: (method, path).
fn operations(spec: &str) -> Vec<(String, String)> {
    let v: serde_json::Value = match serde_json::from_str(spec) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("the spec is not JSON: {e}");
            std::process::exit(2);
        }
    };
    let mut out = Vec::new();
    if let Some(paths) = v["paths"].as_object() {
        for (path, item) in paths {
            for m in ["get", "post", "put", "patch", "delete"] {
                if item.get(m).is_some() {
                    out.push((m.to_string(), path.clone()));
                }
            }
        }
    }
    out
}

/// Writes the crate: modules of 100 routes each, mounted by `.nest`, every POST handler
/// `#[idempotent]`; the first routes serve the spec's operations.
fn write_crate(dir: &Path, ops: &[(String, String)], size: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"synthetic\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )?;
    let mut routes: Vec<(String, String)> = ops.to_vec();
    let mut i = 0;
    while routes.len() < size {
        let method = if i % 3 == 0 { "get" } else { "post" };
        routes.push((method.into(), format!("/internal/r{i}/items/{{item_id}}")));
        i += 1;
    }
    let modules = routes.len().div_ceil(PER_MODULE);
    let mut lib = String::from("use axum::Router;\n");
    for m in 0..modules {
        let _ = writeln!(lib, "mod m{m};");
    }
    lib.push_str("pub fn app() -> Router {\n    Router::new()");
    for m in 0..modules {
        let _ = write!(lib, "\n        .nest(\"/\", m{m}::routes())");
    }
    lib.push_str("\n}\n");
    std::fs::write(dir.join("src/lib.rs"), lib)?;
    for (m, chunk) in routes.chunks(PER_MODULE).enumerate() {
        let mut text = String::from(
            "use axum::routing::{delete, get, patch, post, put};\nuse axum::Router;\nuse idemgate::idempotent;\n\n",
        );
        for (j, (method, _)) in chunk.iter().enumerate() {
            if method == "post" {
                text.push_str("#[idempotent(key = header(\"Idempotency-Key\"))]\n");
            }
            let _ = writeln!(text, "pub async fn h{j}() {{}}\n");
        }
        text.push_str("pub fn routes() -> Router {\n    Router::new()");
        for (j, (method, path)) in chunk.iter().enumerate() {
            let _ = write!(text, "\n        .route(\"{path}\", {method}(h{j}))");
        }
        text.push_str("\n}\n");
        std::fs::write(dir.join(format!("src/m{m}.rs")), text)?;
    }
    Ok(())
}

fn source(root: &Path, rel: &str) -> SourceFile {
    let abs = root.join(rel);
    let kind = if rel.ends_with(".rs") {
        FileKind::Rust
    } else {
        FileKind::OpenApiCandidate
    };
    let path = SourcePath {
        rel: rel.into(),
        abs,
        kind,
        explicit: true,
    };
    match SourceFile::read(path, u64::MAX) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{rel}: {}", e.message);
            std::process::exit(2);
        }
    }
}

/// The model the engine would link, built from the files directly.
fn linked_model(root: &Path, settings: &Settings) -> Model {
    let mut model = Model::default();
    let mut files = Vec::new();
    let mut rels = vec!["src/lib.rs".to_string()];
    let mut m = 0;
    while root.join(format!("src/m{m}.rs")).exists() {
        rels.push(format!("src/m{m}.rs"));
        m += 1;
    }
    for rel in &rels {
        match rust::parse(&source(root, rel), false) {
            Ok(f) => files.push(f),
            Err(e) => {
                eprintln!("{rel}: {}", e.message);
                std::process::exit(2);
            }
        }
    }
    let workspace = rust::Workspace::new();
    let input = rust::LinkInput {
        root,
        workspace: &workspace,
        budget: settings.analysis_budget,
    };
    rust::link(files, &input, &settings.context, &mut model);
    let doc = match openapi::parse(&source(root, "openapi.json"), &settings.openapi) {
        Ok(Some(doc)) => doc,
        _ => {
            eprintln!("openapi.json: not an OpenAPI document");
            std::process::exit(2);
        }
    };
    openapi::link(vec![doc], &settings.context, &mut model);
    model
}

fn main() {
    let spec_path = std::env::var_os("SPEC")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/specs/stripe-spec3-2022-04-12.json")
        });
    let spec = match std::fs::read_to_string(&spec_path) {
        Ok(s) => s,
        Err(e) => {
            println!(
                "SKIPPED: cannot read {} ({e}); set SPEC=…",
                spec_path.display()
            );
            return;
        }
    };
    let ops = operations(&spec);
    let dir = std::env::temp_dir().join(format!("idemgate-bench-contract-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = write_crate(&dir, &ops, ROUTES)
        .and_then(|_| std::fs::write(dir.join("openapi.json"), &spec))
    {
        eprintln!("writing {}: {e}", dir.display());
        std::process::exit(2);
    }
    let dir = idemgate_lint::discover::absolute(&dir);
    // linear: the pairing time per route stays flat as the crate grows
    for size in [ROUTES / 4, ROUTES / 2] {
        let small = dir.with_extension(format!("{size}"));
        let _ = std::fs::remove_dir_all(&small);
        if write_crate(&small, &ops, size)
            .and_then(|_| std::fs::write(small.join("openapi.json"), &spec))
            .is_err()
        {
            continue;
        }
        let settings = Settings::defaults(small.clone());
        let mut model = linked_model(&small, &settings);
        let (t, ()) = time(7, || {
            model.contracts = Default::default();
            contract::link(&[], &small, &mut model);
        });
        println!(
            "pairing + matching, {:>6} routes {:>9.2?}   ({:.0} ns per route)",
            model.rust.routes.len(),
            t,
            t.as_nanos() as f64 / model.rust.routes.len().max(1) as f64
        );
        let _ = std::fs::remove_dir_all(&small);
    }
    let settings = Settings::defaults(dir.clone());

    let (t_model, mut model) = time(1, || linked_model(&dir, &settings));
    let routes = model.rust.routes.len();
    let operations = model.openapi.operations.len();
    let (t_pair, ()) = time(7, || {
        model.contracts = Default::default();
        contract::link(&[], &dir, &mut model);
    });
    let spec_rules: Vec<_> = registry::all_rules()
        .iter()
        .filter(|r| r.meta().id.starts_with("SPEC"))
        .collect();
    let (t_rules, findings) = time(7, || {
        let mut out = Vec::new();
        for r in &spec_rules {
            r.check(&model, &settings.context, &mut out);
        }
        out
    });
    let (t_check, outcome) = time(7, || engine::check(std::slice::from_ref(&dir), &settings));
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("check: {e}");
            std::process::exit(2);
        }
    };
    let c = &model.contracts;
    println!(
        "spec: {} ({} operations); crate: {routes} routes",
        spec_path.display(),
        operations
    );
    println!(
        "pairing + matching, {:>6} routes {:>9.2?}   ({:.0} ns per route; {} contract, {} matches, {} unmatched routes, {} unmatched operations)",
        routes,
        t_pair,
        t_pair.as_nanos() as f64 / routes.max(1) as f64,
        c.contracts.len(),
        c.matches.len(),
        c.unmatched_routes.len(),
        c.unmatched_operations.len()
    );
    println!(
        "SPEC001-003 on the pairs  {:>9.2?}   ({} findings)",
        t_rules,
        findings.len()
    );
    println!("parse + link (once)       {t_model:>9.2?}");
    println!(
        "whole idemgate check      {:>9.2?}   ({} files, {} findings)",
        t_check,
        outcome.files_scanned,
        outcome.findings.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
