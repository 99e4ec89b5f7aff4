//! One scan: discover files → parse each on its own (in parallel) → link facts into the model
//! → run the rules → apply severities and exemptions → a deterministic, sorted [`Outcome`].

use std::path::PathBuf;

use idemgate_rules::model::{Exemption, FileError};
use idemgate_rules::suppress::apply_exemptions;
use idemgate_rules::{registry, Finding, Model};
use rayon::prelude::*;

use crate::config::Settings;
use crate::discover::{discover_with, DiscoverError};
use crate::nearest::Layers;
use crate::source::{FileKind, SourceFile, SourcePath};
use crate::{openapi, rust};

/// Threads parse on large stacks: syn and the visitors recurse, and input nesting is bounded
/// before parsing, but a generous stack keeps the bound far from the limit.
const PARSER_STACK_BYTES: usize = 64 * 1024 * 1024;

/// The result of a scan.
#[derive(Debug)]
pub struct Outcome {
    /// Findings after severities and exemptions, sorted by file, line, column, rule.
    pub findings: Vec<Finding>,
    pub files_scanned: usize,
    pub suppressed: usize,
    pub root: PathBuf,
    /// `.rs` files no crate compiles (not reachable from a crate root through `mod`), and
    /// Cargo test/bench files without `include-tests`: not analysed.
    pub unreachable: Vec<std::sync::Arc<str>>,
    /// Every route the gate saw, with how it is covered (for `idemgate routes`).
    pub routes: Vec<idemgate_rules::model::rust::Route>,
    /// For each route (same order), the paired spec operations it serves.
    pub route_operations: Vec<Vec<crate::contract::ServedOperation>>,
}

enum Parsed {
    Rust(rust::RustFile),
    OpenApi(openapi::Document),
    Skipped,
    Failed(FileError),
}

fn parse_one(path: SourcePath, settings: &Settings) -> Parsed {
    let file = match SourceFile::read(path, settings.max_file_size) {
        Ok(f) => f,
        Err(e) => return Parsed::Failed(e),
    };
    match file.path.kind {
        FileKind::Rust => match rust::parse(&file, settings.full_syntax) {
            Ok(facts) => Parsed::Rust(facts),
            Err(e) => Parsed::Failed(e),
        },
        FileKind::OpenApiCandidate => {
            if !file.path.explicit && !openapi::sniff(&file.text) {
                return Parsed::Skipped;
            }
            match openapi::parse(&file, &settings.openapi) {
                Ok(Some(doc)) => Parsed::OpenApi(doc),
                Ok(None) => Parsed::Skipped,
                Err(e) => Parsed::Failed(e),
            }
        }
    }
}

/// Runs the whole check over `paths` (files or folders).
pub fn check(paths: &[PathBuf], settings: &Settings) -> Result<Outcome, DiscoverError> {
    let paths = &crate::contract::with_specs(paths, &settings.contracts, &settings.root);
    let layers = Layers::new(settings, settings.nested_configs);
    let files = discover_with(paths, settings, &|p| layers.excluded(p))?;
    if let Some(error) = layers.take_error() {
        return Err(DiscoverError::Config(error));
    }
    let workspace = rust::Workspace::new();
    // Cargo decides what is production code: test harnesses and files under no target folder
    // (test data, fixtures) are set aside before parsing; files named on the command line are
    // always analysed.
    let mut set_aside: Vec<SourcePath> = Vec::new();
    // crate roots the manifests name (`[lib] path`, `[[bin]] path`)
    let mut target_roots: std::collections::HashSet<std::sync::Arc<str>> = Default::default();
    // files in no Cargo package are crates of their own, always analysed
    let mut loose: std::collections::HashSet<std::sync::Arc<str>> = Default::default();
    let mut files: Vec<SourcePath> = files
        .into_iter()
        .filter_map(|f| {
            if f.kind != FileKind::Rust || f.explicit {
                return Some(f);
            }
            let abs = rust::normalize(&f.abs);
            if workspace.is_target(&abs) {
                target_roots.insert(f.rel.clone());
            }
            let role = workspace.role(&abs);
            if role == rust::Role::Loose {
                loose.insert(f.rel.clone());
            }
            match role {
                rust::Role::Test if !settings.include_tests => {
                    set_aside.push(f);
                    None
                }
                rust::Role::Unowned => {
                    set_aside.push(f);
                    None
                }
                _ => Some(f),
            }
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(PARSER_STACK_BYTES)
        .num_threads(settings.threads)
        .build()
        .ok();
    let parse_all = |files: Vec<SourcePath>| -> Vec<(SourcePath, Parsed)> {
        let run = move || -> Vec<(SourcePath, Parsed)> {
            files
                .into_par_iter()
                .map(|p| {
                    let parsed = parse_one(p.clone(), settings);
                    (p, parsed)
                })
                .collect()
        };
        match &pool {
            Some(pool) => pool.install(run),
            // Could not spawn threads (a constrained sandbox): scan on this thread instead.
            None => run(),
        }
    };
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    let mut parsed = parse_all(files);
    // files pulled in with `#[path]` from the ones parsed are production code after all
    let wanted: std::collections::HashSet<String> = parsed
        .iter()
        .filter_map(|(_, p)| match p {
            Parsed::Rust(f) => Some(f.path_modules().iter().cloned()),
            _ => None,
        })
        .flatten()
        .collect();
    let (pulled, rest): (Vec<SourcePath>, Vec<SourcePath>) = set_aside
        .into_iter()
        .partition(|f| wanted.contains(&*f.rel));
    let mut path_roots: std::collections::HashSet<std::sync::Arc<str>> =
        pulled.iter().map(|f| f.rel.clone()).collect();
    parsed.extend(parse_all(pulled));
    for (_, p) in &parsed {
        if let Parsed::Rust(f) = p {
            for w in f.path_modules() {
                path_roots.insert(w.as_str().into());
            }
        }
    }
    let (parsed, mut unreachable) = reachable(parsed, &path_roots, &target_roots, &loose);
    unreachable.extend(rest.into_iter().map(|f| f.rel));
    unreachable.sort();
    let files_scanned = parsed.len();
    let scanned: Vec<std::sync::Arc<str>> = parsed.iter().map(|(f, _)| f.rel.clone()).collect();

    let checked = parsed.iter().any(|(f, p)| {
        f.kind == FileKind::Rust || matches!(p, Parsed::OpenApi(_) | Parsed::Failed(_))
    });
    if !checked {
        let looked = paths
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect::<Vec<_>>()
            .join(", ");
        let aside = if unreachable.is_empty() {
            String::new()
        } else {
            format!(
                " ({} .rs files set aside: no crate compiles them, or Cargo tests/benches)",
                unreachable.len()
            )
        };
        return Err(DiscoverError::NothingToCheck { looked, aside });
    }
    let mut model = Model::default();
    let mut rust_files = Vec::new();
    let mut docs = Vec::new();
    for (_, p) in parsed {
        match p {
            Parsed::Rust(f) => rust_files.push(f),
            Parsed::OpenApi(d) => docs.push(d),
            Parsed::Skipped => {}
            Parsed::Failed(e) => model.file_errors.push(e),
        }
    }
    let input = rust::LinkInput {
        root: &settings.root,
        workspace: &workspace,
        budget: settings.analysis_budget,
    };
    // the linker reads the bodies IDEM001 follows in parallel, on the parser's threads
    match &pool {
        Some(pool) => {
            pool.install(|| rust::link(rust_files, &input, &settings.context, &mut model))
        }
        None => rust::link(rust_files, &input, &settings.context, &mut model),
    }
    openapi::link(docs, &settings.context, &mut model);
    crate::contract::link(&layers.contracts(), &settings.root, &mut model);
    model.exemptions.extend(layers.config_exemptions());

    // Closest config wins: each finding takes the severity, and meets the exemptions, of the
    // config governing its file; exemptions belong to the config governing where they are
    // written.
    let findings: Vec<(usize, Finding)> = registry::run_all(&model, &settings.context)
        .into_iter()
        .map(|f| (layers.group_of_file(&f.location.file), f))
        // a rule switched off there reports nothing, and uses no exemption
        .filter(|(group, f)| layers.severity_of(*group, f.rule).is_some())
        .collect();
    let exemptions: Vec<(usize, &Exemption)> = model
        .exemptions
        .iter()
        .map(|e| (layers.group_of_file(&e.location.file), e))
        .collect();
    let scanned: Vec<(usize, std::sync::Arc<str>)> = scanned
        .into_iter()
        .map(|f| (layers.group_of_file(&f), f))
        .collect();
    let mut kept = Vec::new();
    let mut suppressed = 0;
    for group in 0..layers.groups() {
        let mine = |g: &usize| *g == group;
        let group_findings: Vec<Finding> = findings
            .iter()
            .filter(|(g, _)| mine(g))
            .map(|(_, f)| f.clone())
            .collect();
        let group_exemptions: Vec<Exemption> = exemptions
            .iter()
            .filter(|(g, _)| mine(g))
            .map(|(_, e)| (*e).clone())
            .collect();
        if group_findings.is_empty() && group_exemptions.is_empty() {
            continue;
        }
        let group_scanned: Vec<std::sync::Arc<str>> = scanned
            .iter()
            .filter(|(g, _)| mine(g))
            .map(|(_, f)| f.clone())
            .collect();
        let rule_enabled = |id: &str| layers.severity_of(group, id).is_some();
        let out = apply_exemptions(
            group_findings,
            &group_exemptions,
            rule_enabled,
            &group_scanned,
        );
        suppressed += out.suppressed;
        kept.extend(out.findings);
    }
    // Severities, in one place: the rules' findings and the exemption pass's IDEM004 alike.
    let mut kept: Vec<Finding> = kept
        .into_iter()
        .filter_map(|mut f| {
            let group = layers.group_of_file(&f.location.file);
            f.severity = f.configured_severity(layers.severity_of(group, f.rule)?);
            Some(f)
        })
        .collect();
    kept.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    kept.dedup_by(|a, b| a.sort_key() == b.sort_key());
    Ok(Outcome {
        findings: kept,
        files_scanned,
        suppressed,
        root: settings.root.clone(),
        unreachable,
        route_operations: crate::contract::served_operations(&model),
        routes: std::mem::take(&mut model.rust.routes),
    })
}

/// Keeps the Rust files some crate compiles: a crate root (`lib.rs`, `main.rs`, a binary,
/// an example, a loose file), a file pulled in by `#[path]`, a file named on the command line,
/// or a module whose every ancestor declares it with `mod`. The rest are returned as
/// unreachable. Other files (specs) are kept.
fn reachable(
    parsed: Vec<(SourcePath, Parsed)>,
    path_roots: &std::collections::HashSet<std::sync::Arc<str>>,
    target_roots: &std::collections::HashSet<std::sync::Arc<str>>,
    loose: &std::collections::HashSet<std::sync::Arc<str>>,
) -> (Vec<(SourcePath, Parsed)>, Vec<std::sync::Arc<str>>) {
    use std::collections::HashSet;
    let mut declared: HashSet<(String, Vec<String>, String)> = HashSet::new();
    let mut roots: HashSet<String> = HashSet::new();
    for (sp, p) in &parsed {
        if let Parsed::Rust(f) = p {
            let (krate, module) = f.crate_and_module();
            if module.is_empty() {
                roots.insert(krate.to_string());
            }
            // a root a manifest names at another path (`src/cli/lib.rs`): its modules live in
            // its own folder
            let shift = target_roots.contains(&sp.rel) && !module.is_empty();
            if shift {
                roots.insert(krate.to_string());
                let dir = &module[..module.len() - 1];
                for i in 0..dir.len() {
                    declared.insert((krate.to_string(), dir[..i].to_vec(), dir[i].clone()));
                }
            }
            for (parent, name) in f.declared_modules() {
                let parent = if shift && parent.starts_with(module) {
                    let mut p = module[..module.len() - 1].to_vec();
                    p.extend(parent[module.len()..].iter().cloned());
                    p
                } else {
                    parent.clone()
                };
                declared.insert((krate.to_string(), parent, name.clone()));
            }
        }
    }
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for (f, p) in parsed {
        let keep = f.kind != FileKind::Rust
            || f.explicit
            || path_roots.contains(&f.rel)
            || target_roots.contains(&f.rel)
            || loose.contains(&f.rel)
            || {
                let (krate, module) = rust::crate_and_module(&f.rel);
                let crate_has_root = roots.contains(&krate) || krate.ends_with(".rs");
                crate_has_root
                    && (0..module.len()).all(|i| {
                        declared.contains(&(krate.clone(), module[..i].to_vec(), module[i].clone()))
                    })
            };
        if keep {
            kept.push((f, p));
        } else {
            dropped.push(f.rel);
        }
    }
    (kept, dropped)
}
