//! The OpenAPI front-end: Swagger 2.0 and OpenAPI 3.0/3.1 documents, YAML or JSON, parsed
//! with positions kept for what findings need.
//!
//! JSON goes through a small span-keeping parser of our own ([`json`]); YAML through
//! `saphyr-parser`'s events into the same tree ([`yaml`]), with alias expansion and depth
//! bounded. Nodes carry byte offsets only; line and column are computed for the few nodes that
//! become facts. `$ref`s are resolved over the document's files by [`resolve`], facts are
//! extracted by [`extract`].
//!
//! Why not a typed model: `openapiv3` drops positions and knows only 3.0, `serde_yaml` is
//! deprecated, and every finding needs the line of a key. Why not YAML for JSON too: JSON
//! specs are the big ones (Stripe's is 4 MB) and a JSON scanner that borrows strings is several
//! times faster than any YAML parser; both feed one tree, so the extraction is written once.
//! Rules never see the tree, only the facts of `idemgate_rules::model::openapi`.

mod extract;
mod json;
mod resolve;
mod tree;
mod yaml;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use idemgate_rules::model::openapi::{is_idempotency_like_header, is_standard_key_header};
use idemgate_rules::model::openapi::{ApiDocument, Operation};
use idemgate_rules::model::{Exemption, ExemptionScope, FileError};
use idemgate_rules::{Context, LineIndex, Location, Model};

use crate::config::OpenApiSettings;
use crate::source::SourceFile;
use resolve::{Diagnostics, Files, Src};
use tree::{Node, ParseError};

/// Most files one document may pull in through `$ref`.
const MAX_REFERENCED_FILES: usize = 256;

/// Cheap check before a full parse: does the document's root have an `openapi` or
/// `swagger` key? JSON is scanned for root-level keys (strings skipped, depth tracked, no
/// allocation); YAML for a root key at column 0.
pub fn sniff(text: &str) -> bool {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = t.trim_start();
    if trimmed.starts_with('{') {
        return sniff_json(trimmed.as_bytes());
    }
    for line in t.lines() {
        let l = line
            .strip_prefix('"')
            .or_else(|| line.strip_prefix('\''))
            .unwrap_or(line);
        for key in ["openapi", "swagger"] {
            if let Some(rest) = l.strip_prefix(key) {
                let rest = rest.trim_start_matches(['"', '\'']).trim_start();
                if rest.starts_with(':') {
                    return true;
                }
            }
        }
    }
    false
}

fn sniff_json(b: &[u8]) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 {
                    let s = b.get(start..j.min(b.len())).unwrap_or(&[]);
                    if s == b"openapi" || s == b"swagger" {
                        let rest = b.get(j + 1..).unwrap_or(&[]);
                        let next = rest.iter().find(|c| !c.is_ascii_whitespace());
                        if next == Some(&b':') {
                            return true;
                        }
                    }
                }
                i = j;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// One parsed OpenAPI document: its facts, ready to be linked into the model.
#[derive(Debug)]
pub struct Document {
    /// Boxed: the engine moves documents through an enum with small variants.
    pub info: Box<ApiDocument>,
    pub operations: Vec<Operation>,
    pub exemptions: Vec<Exemption>,
    /// Problems that did not stop the document from being checked (an unresolvable `$ref`).
    pub errors: Vec<FileError>,
}

fn is_json(path: &Path, text: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('{')
}

/// Parses a JSON or YAML text into the tree (JSON first for `.json` files and texts that start
/// with `{`; a `{`-text that is not JSON is tried as YAML flow).
fn parse_tree<'t>(
    path: &Path,
    text: &'t str,
    settings: &OpenApiSettings,
) -> Result<Node<'t>, ParseError> {
    let limits = yaml::Limits {
        max_depth: settings.max_depth,
        max_alias_nodes: settings.max_alias_nodes,
    };
    let json_ext = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json(path, text) {
        match json::parse(text, settings.max_depth) {
            Ok(n) => Ok(n),
            Err(e) if json_ext => Err(e),
            Err(e) => yaml::parse(text, &limits).map_err(|_| e),
        }
    } else {
        yaml::parse(text, &limits)
    }
}

fn error_at(rel: &Arc<str>, text: &str, e: &ParseError) -> FileError {
    let index = LineIndex::new(text);
    let location = index.location(rel, text, e.offset, e.offset);
    FileError {
        file: rel.clone(),
        message: e.message.clone(),
        location: Some(location),
    }
}

/// Parses a document; `Ok(None)` when the file is not an OpenAPI document.
///
/// The parsers are written not to panic on any input; should one still do so (a bug, perhaps in
/// a dependency), the file is reported as not checked instead of ending the whole run.
pub fn parse(file: &SourceFile, settings: &OpenApiSettings) -> Result<Option<Document>, FileError> {
    let run = std::panic::AssertUnwindSafe(|| parse_document(file, settings));
    std::panic::catch_unwind(run).unwrap_or_else(|_| {
        Err(FileError {
            file: file.rel().clone(),
            location: None,
            message: "internal error while parsing this OpenAPI document (please report it)".into(),
        })
    })
}

fn parse_document(
    file: &SourceFile,
    settings: &OpenApiSettings,
) -> Result<Option<Document>, FileError> {
    let rel = file.rel().clone();
    let text = file.text.as_str();
    if text.len() as u64 > settings.max_file_size {
        return Err(FileError {
            file: rel,
            location: None,
            message: format!(
                "file is {} bytes, over the {} byte limit for OpenAPI documents (raise `[openapi] max-file-size`)",
                text.len(),
                settings.max_file_size
            ),
        });
    }
    let root = parse_tree(&file.path.abs, text, settings).map_err(|e| error_at(&rel, text, &e))?;
    let Some(version) = extract::version(&root) else {
        return Ok(None);
    };
    let abs = crate::discover::absolute(&file.path.abs);
    let root_dir = crate::discover::absolute(&settings.root);
    // A document outside the scan root may still reference its own neighbours.
    let allowed_root = if abs.starts_with(&root_dir) {
        root_dir
    } else {
        abs.parent().map_or(root_dir, Path::to_path_buf)
    };
    let mut files = Files {
        files: vec![Src::new(rel.clone(), abs, Cow::Borrowed(text), root)],
        failed: Default::default(),
        allowed_root,
    };
    // Extract; load the files the pass wanted; again until nothing new is wanted.
    loop {
        let mut diag = Diagnostics::default();
        let out = extract::extract(&files, version, &mut diag);
        if diag.wanted.is_empty() {
            return Ok(Some(Document {
                info: Box::new(ApiDocument {
                    file: rel,
                    version,
                    strategy: out.strategy,
                }),
                operations: out.operations,
                exemptions: out.exemptions,
                errors: diag.errors,
            }));
        }
        for path in diag.wanted {
            load(&mut files, path, settings);
        }
    }
}

/// Loads one referenced file into `files`, or records why it cannot be.
fn load(files: &mut Files<'_>, abs: PathBuf, settings: &OpenApiSettings) {
    let fail = |files: &mut Files<'_>, abs: PathBuf, why: String| {
        files.failed.insert(abs, why);
    };
    if files.files.len() >= MAX_REFERENCED_FILES {
        return fail(
            files,
            abs,
            format!("more than {MAX_REFERENCED_FILES} files referenced; not loaded"),
        );
    }
    // Symlinks must not lead out of the root either.
    let inside = match (abs.canonicalize(), files.allowed_root.canonicalize()) {
        (Ok(real), Ok(root)) => real.starts_with(root),
        (Err(e), _) => return fail(files, abs, format!("cannot read the file: {e}")),
        (_, Err(_)) => true,
    };
    if !inside {
        return fail(
            files,
            abs,
            "the file resolves (through a symlink) outside the scanned root; refused".into(),
        );
    }
    let rel = crate::source::relative(&settings.root, &abs);
    match std::fs::metadata(&abs) {
        Ok(m) if m.len() > settings.max_file_size => {
            return fail(
                files,
                abs,
                format!("the file is over the {} byte limit", settings.max_file_size),
            )
        }
        Ok(m) if !m.is_file() => return fail(files, abs, "not a file".into()),
        Ok(_) => {}
        Err(e) => return fail(files, abs, format!("cannot read the file: {e}")),
    }
    let text = match std::fs::read(&abs).map(String::from_utf8) {
        Ok(Ok(t)) => t,
        Ok(Err(_)) => return fail(files, abs, "the file is not valid UTF-8".into()),
        Err(e) => return fail(files, abs, format!("cannot read the file: {e}")),
    };
    let root = match parse_tree(&abs, &text, settings) {
        Ok(root) => root.into_owned(),
        Err(e) => {
            let index = LineIndex::new(&text);
            let (line, col) = index.line_col(&text, e.offset);
            return fail(
                files,
                abs,
                format!(
                    "`{rel}` does not parse: {} (line {line}, column {col})",
                    e.message
                ),
            );
        }
    };
    files.files.push(Src::new(rel, abs, Cow::Owned(text), root));
}

/// Fills `model.openapi` and `model.exemptions` from the parsed documents.
pub fn link(docs: Vec<Document>, ctx: &Context, model: &mut Model) {
    let accepted = |name: &str| {
        ctx.accepted_key_headers
            .iter()
            .any(|a| a.trim().eq_ignore_ascii_case(name.trim()))
    };
    let mut seen_exemptions: std::collections::HashSet<(String, Location, String)> =
        Default::default();
    for doc in docs {
        model.openapi.documents.push(*doc.info);
        for mut op in doc.operations {
            // Every header parameter was collected; keep the idempotency ones.
            op.key_headers.retain_mut(|h| {
                h.standard = is_standard_key_header(&h.name) || accepted(&h.name);
                h.standard || is_idempotency_like_header(&h.name)
            });
            model.openapi.operations.push(op);
        }
        for e in doc.exemptions {
            let scope = match &e.scope {
                ExemptionScope::Lines { file, start, end } => format!("{file}:{start}-{end}"),
                ExemptionScope::Glob { pattern, key } => format!("{pattern}:{key:?}"),
            };
            if seen_exemptions.insert((e.rule.clone(), e.location.clone(), scope)) {
                model.exemptions.push(e);
            }
        }
        model.reference_errors.extend(doc.errors);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::source::{FileKind, SourcePath};

    fn settings() -> OpenApiSettings {
        OpenApiSettings {
            root: PathBuf::from("/nonexistent-root"),
            paths: None,
            max_file_size: 1 << 20,
            max_depth: 64,
            max_alias_nodes: 10_000,
        }
    }

    fn source(name: &str, text: &str) -> SourceFile {
        SourceFile {
            path: SourcePath {
                rel: Arc::from(name),
                abs: PathBuf::from("/nonexistent-root").join(name),
                kind: FileKind::OpenApiCandidate,
                explicit: true,
            },
            text: text.to_string(),
        }
    }

    /// Every prefix and many single-byte corruptions of real fixtures parse to a document or
    /// an error, never a panic (checked without the `catch_unwind` net).
    #[test]
    fn truncated_and_corrupted_inputs_never_panic() {
        let inputs = [
            (
                "a.yaml",
                include_str!("../../../fixtures/openapi/oas001/v30.yaml"),
            ),
            (
                "a.yaml",
                include_str!("../../../fixtures/openapi/exemptions/api.yaml"),
            ),
            (
                "a.json",
                include_str!("../../../fixtures/openapi/oas004/v30.json"),
            ),
            (
                "a.json",
                include_str!("../../../fixtures/openapi/oas002/v2.json"),
            ),
        ];
        let noise = [
            b'{', b'}', b'[', b']', b':', b',', b'"', b'\'', b'&', b'*', b'\n', b' ', b'-', b'#',
            b'!', b'|', b'>', b'\\', b'%', b'@',
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for (name, text) in inputs {
            for cut in (0..text.len()).filter(|i| text.is_char_boundary(*i)) {
                let _ = parse_document(&source(name, &text[..cut]), &settings());
            }
            let bytes = text.as_bytes();
            for _ in 0..1_000 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed as usize) % bytes.len();
                let mut b = bytes.to_vec();
                b[at] = noise[(seed >> 32) as usize % noise.len()];
                if let Ok(t) = String::from_utf8(b) {
                    let _ = parse_document(&source(name, &t), &settings());
                }
            }
        }
    }

    #[test]
    fn sniffs_roots() {
        assert!(sniff("openapi: 3.1.0\ninfo: {}\n"));
        assert!(sniff("# c\n---\nswagger: '2.0'\n"));
        assert!(sniff("\"openapi\": 3.0.0\n"));
        assert!(!sniff("name: CI\non: push\njobs:\n  openapi: x\n"));
        assert!(sniff(r#"{"info": {"openapi": 1}, "openapi" : "3.0.0"}"#));
        assert!(!sniff(
            r#"{"info": {"openapi": "3.0.0"}, "x": "\"openapi\": 1"}"#
        ));
        assert!(!sniff(r#"{"name": "pkg", "version": "1.0.0"}"#));
    }
}
