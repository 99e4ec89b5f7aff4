//! A source file as the front-ends see it: its path relative to the scan root and its text.

use std::path::PathBuf;
use std::sync::Arc;

use idemgate_rules::model::FileError;
use idemgate_rules::{LineIndex, Location};

pub use crate::paths::relative;

/// What kind of input a file is, decided at discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Rust,
    /// A `.yaml`, `.yml` or `.json` file: an OpenAPI document if its root says so.
    OpenApiCandidate,
}

/// One file to scan.
#[derive(Debug, Clone)]
pub struct SourcePath {
    /// Path relative to the scan root, `/`-separated; what every report shows.
    pub rel: Arc<str>,
    pub abs: PathBuf,
    pub kind: FileKind,
    /// Named on the command line (always scanned, and an OpenAPI file need not sniff as one).
    pub explicit: bool,
}

/// A file's path and text, read and checked for UTF-8.
#[derive(Debug)]
pub struct SourceFile {
    pub path: SourcePath,
    pub text: String,
}

impl SourceFile {
    /// Reads a file. Bad UTF-8 is an error located at the first invalid byte.
    pub fn read(path: SourcePath, max_bytes: u64) -> Result<SourceFile, FileError> {
        let err = |location: Option<Location>, message: String| FileError {
            file: path.rel.clone(),
            location,
            message,
        };
        match std::fs::metadata(&path.abs) {
            Ok(meta) if meta.len() > max_bytes => {
                return Err(err(
                    None,
                    format!(
                        "file is {} bytes, over the {} byte limit (raise `max_file_size` in the config)",
                        meta.len(),
                        max_bytes
                    ),
                ))
            }
            Ok(_) => {}
            Err(e) => return Err(err(None, format!("cannot read file: {e}"))),
        }
        let bytes = match std::fs::read(&path.abs) {
            Ok(b) => b,
            Err(e) => return Err(err(None, format!("cannot read file: {e}"))),
        };
        match String::from_utf8(bytes) {
            Ok(text) => Ok(SourceFile { path, text }),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let bytes = e.as_bytes();
                // Locate the bad byte using the valid prefix (it is valid UTF-8 by definition).
                let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or("");
                let idx = LineIndex::new(prefix);
                let (line, column) = idx.line_col(prefix, valid);
                let location = Location {
                    file: path.rel.clone(),
                    line,
                    column,
                    end_line: line,
                    end_column: column + 1,
                    offset: valid,
                    len: 0,
                };
                Err(err(
                    Some(location),
                    format!(
                        "file is not valid UTF-8 (invalid byte 0x{:02x} at line {line}, column {column})",
                        bytes.get(valid).copied().unwrap_or(0)
                    ),
                ))
            }
        }
    }

    pub fn rel(&self) -> &Arc<str> {
        &self.path.rel
    }
}
