//! The Rust front-end: per-file facts, then linking across the crate (module paths, `use`
//! imports, handler resolution) into the model.
//!
//! Parsing is two-tier for speed: [`scan`] lexes the whole file once (bounding nesting, splitting
//! items, spotting items that can matter) and only those items are parsed with syn
//! ([`extract`]). Items that cannot matter contribute their function names only.

mod attrs;
mod extract;
mod facts;
mod keys;
mod link;
mod retries;
mod routes;
mod scan;
mod span;
mod syntax;

pub use facts::RustFile;

use idemgate_rules::model::FileError;
use idemgate_rules::{Context, LineIndex, Model};

use crate::source::SourceFile;

/// Parses one file. Never panics; a syntax error is a [`FileError`] with its location.
///
/// Lexical errors and nesting bounds are checked over the whole file; grammar errors only in
/// the items that can matter, unless `full_syntax` asks for every item to be parsed.
pub fn parse(file: &SourceFile, full_syntax: bool) -> Result<RustFile, FileError> {
    let index = LineIndex::new(&file.text);
    match scan::scan(&file.text) {
        Ok(scanned) => extract::extract(file, &index, scanned, full_syntax),
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

/// Resolves handlers across files and fills `model.rust` and `model.exemptions`.
pub fn link(files: Vec<RustFile>, ctx: &Context, model: &mut Model) {
    link::link(files, ctx, model);
}
