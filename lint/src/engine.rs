//! One scan: discover files → parse each on its own (in parallel) → link facts into the model
//! → run the rules → apply severities and exemptions → a deterministic, sorted [`Outcome`].

use std::path::PathBuf;

use idemgate_rules::model::FileError;
use idemgate_rules::suppress::apply_exemptions;
use idemgate_rules::{registry, Finding, Model};
use rayon::prelude::*;

use crate::config::Settings;
use crate::discover::{discover, DiscoverError};
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
    let files = discover(paths, settings)?;
    let files_scanned = files.len();
    let scanned: Vec<std::sync::Arc<str>> = files.iter().map(|f| f.rel.clone()).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(PARSER_STACK_BYTES)
        .num_threads(settings.threads)
        .build();
    let parse_all = || -> Vec<Parsed> {
        files
            .into_par_iter()
            .map(|p| parse_one(p, settings))
            .collect()
    };
    let parsed = match pool {
        Ok(pool) => pool.install(parse_all),
        // Could not spawn threads (a constrained sandbox): scan on this thread instead.
        Err(_) => parse_all(),
    };

    let mut model = Model::default();
    let mut rust_files = Vec::new();
    let mut docs = Vec::new();
    for p in parsed {
        match p {
            Parsed::Rust(f) => rust_files.push(f),
            Parsed::OpenApi(d) => docs.push(d),
            Parsed::Skipped => {}
            Parsed::Failed(e) => model.file_errors.push(e),
        }
    }
    rust::link(rust_files, &settings.context, &mut model);
    openapi::link(docs, &settings.context, &mut model);
    model.exemptions.extend(settings.exemptions.iter().cloned());

    let mut findings = registry::run_all(&model, &settings.context);
    findings.retain_mut(|f| match settings.severity_of(f.rule) {
        Some(sev) => {
            f.severity = sev;
            true
        }
        None => false,
    });
    let rule_enabled = |id: &str| settings.severity_of(id).is_some();
    let mut out = apply_exemptions(findings, &model.exemptions, rule_enabled, &scanned);
    // IDEM004 findings come from the exemption pass; they too obey the configured severity.
    out.findings
        .retain_mut(|f| match settings.severity_of(f.rule) {
            Some(sev) => {
                f.severity = sev;
                true
            }
            None => false,
        });
    out.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out.findings.dedup_by(|a, b| a.sort_key() == b.sort_key());
    Ok(Outcome {
        findings: out.findings,
        files_scanned,
        suppressed: out.suppressed,
        root: settings.root.clone(),
    })
}
