//! The Rust front-end: per-file facts, then linking across the crate (module paths, `use`
//! imports, handler resolution) into the model.
//!
//! Parsing is two-tier for speed: [`scan`] lexes the whole file once (bounding nesting, splitting
//! items, spotting items that can matter) and only those items are parsed with syn
//! ([`extract`]). Items that cannot matter contribute their function names only.

mod attrs;
mod dataflow;
mod effects;
mod extract;
mod facts;
mod keys;
mod link;
mod outcome;
mod resolve;
mod retries;
mod routes;
mod scan;
mod span;
mod syntax;
mod workspace;

pub use facts::RustFile;
pub use link::{LinkInput, DEFAULT_BUDGET as DEFAULT_ANALYSIS_BUDGET};
pub use workspace::{normalize, Role, Workspace};

use idemgate_rules::model::FileError;
use idemgate_rules::{Context, LineIndex, Model};

use crate::source::SourceFile;

/// Parses one file. Never panics; a syntax error is a [`FileError`] with its location.
///
/// Lexical errors and nesting bounds are checked over the whole file; grammar errors only in
/// the items that can matter, unless `full_syntax` asks for every item to be parsed.
pub fn parse(file: &SourceFile, full_syntax: bool) -> Result<RustFile, FileError> {
    let index = LineIndex::new(&file.text);
    let parsed = parse_scanned(file, index, full_syntax);
    // Every span of the file has become a `Location`: forget the file in proc-macro2's
    // per-thread source map, which would otherwise keep every file parsed, growing the
    // memory the parser threads touch.
    proc_macro2::extra::invalidate_current_thread_spans();
    parsed
}

fn parse_scanned(
    file: &SourceFile,
    index: LineIndex,
    full_syntax: bool,
) -> Result<RustFile, FileError> {
    match scan::scan(&file.text) {
        Ok(scanned) => {
            let mut facts = extract::extract(file, &index, scanned, full_syntax)?;
            facts.0.index = index;
            Ok(facts)
        }
        Err(e) => {
            let location = index.location(file.rel(), &file.text, e.offset, e.offset + 1);
            Err(FileError {
                file: file.rel().clone(),
                message: format!(
                    "cannot parse Rust: {} (line {}, column {})",
                    e.message, location.line, location.column
                ),
                location: Some(location),
            })
        }
    }
}

/// Resolves handlers across files and crates and fills `model.rust` and `model.exemptions`.
pub fn link(files: Vec<RustFile>, input: &LinkInput<'_>, ctx: &Context, model: &mut Model) {
    link::link(files, input, ctx, model);
}

impl RustFile {
    /// The crate folder (or the file, for a crate of one file) and module path of the file.
    pub fn crate_and_module(&self) -> (&str, &[String]) {
        (&self.0.crate_key, &self.0.module)
    }

    /// Modules this file declares: (parent module, name).
    pub fn declared_modules(&self) -> &[(Vec<String>, String)] {
        &self.0.mods
    }

    /// Files this one pulls in with `#[path = "…"] mod x;` (relative to the scan root).
    pub fn path_modules(&self) -> &[String] {
        &self.0.path_mods
    }

    pub fn rel(&self) -> &str {
        &self.0.rel
    }

    /// The `#[retry_policy]` functions of the file (their paths) and the arguments the gate
    /// read from each: what the macros ⇔ gate equivalence test holds against the expansion.
    pub fn policies(
        &self,
    ) -> impl Iterator<Item = (&str, &idemgate_rules::model::rust::PolicyArgs)> {
        self.0.policies.iter().map(|p| (p.path.as_str(), &p.args))
    }

    /// The `#[idempotent]` declarations of the file, as the gate read them.
    pub fn idempotent_fns(&self) -> &[idemgate_rules::model::rust::IdempotentFn] {
        &self.0.idempotent_fns
    }

    /// The exemptions written in the file (`#[exempt]`, `// idemgate: allow` comments).
    pub fn exemptions(&self) -> &[idemgate_rules::model::Exemption] {
        &self.0.exemptions
    }
}

pub use facts::crate_and_module;
