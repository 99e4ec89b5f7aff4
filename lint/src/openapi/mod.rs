//! The OpenAPI front-end: Swagger 2.0 and OpenAPI 3.0/3.1 documents, YAML or JSON, parsed
//! with positions kept for what findings need.
//!
//! JSON goes through a small span-keeping parser of our own ([`json`]); YAML through
//! `saphyr-parser`'s events into the same tree ([`yaml`]), with alias expansion and depth
//! bounded. Nodes carry byte offsets only; line and column are computed for the few nodes that
//! become facts. `$ref`s are resolved over the document's files by [`resolve`], facts are
//! extracted by [`extract`].
//!
//! A split spec (DigitalOcean's: 2,907 files, every operation a `$ref` to its own file) is read
//! in passes: the extraction runs over the files loaded so far and names the files it could not
//! follow yet; those are read and parsed in parallel, and the extraction runs again, until it
//! wants nothing new. Each pass is cheap next to parsing (a few per spec: root → operations →
//! responses and schemas), and the trees stay immutable while they are walked. Every document
//! of a YAML stream is its own document; a key written twice in a mapping is dropped but for
//! its last occurrence and reported with both places.
//!
//! Why not a typed model: `openapiv3` drops positions and knows only 3.0, `serde_yaml` is
//! deprecated, and every finding needs the line of a key. Why not YAML for JSON too: JSON
//! specs are the big ones (Stripe's is 4 MB) and a JSON scanner that borrows strings is several
//! times faster than any YAML parser; both feed one tree, so the extraction is written once.
//! Rules never see the tree, only the facts of `idemgate_rules::model::openapi`.

mod extract;
mod json;
mod resolve;
pub(crate) mod tree;
mod yaml;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use idemgate_rules::model::openapi::{is_idempotency_like_header, is_standard_key_header};
use idemgate_rules::model::openapi::{ApiDocument, Operation, SpecVersion};
use idemgate_rules::model::{Exemption, ExemptionScope, FileError};
use idemgate_rules::{Context, LineIndex, Location, Model};

use crate::config::OpenApiSettings;
use crate::source::{FileKind, SourceFile, SourcePath};
use rayon::prelude::*;
use resolve::{Diagnostics, Files, Src};
use tree::{Node, ParseError, Parsed};

/// Most files one document may pull in through `$ref` (DigitalOcean's public spec is 2,906).
const MAX_REFERENCED_FILES: usize = 20_000;

/// Cheap check before a full parse: does a document's root have an `openapi` or `swagger`
/// key? Block roots are found by a key at column 0 (in any document of a YAML stream); flow
/// roots (`{…}`, JSON or YAML, quoted keys or not) by a scan for keys at depth 1 that skips
/// strings and tracks nesting, without allocating.
pub fn sniff(text: &str) -> bool {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut at_doc_start = true;
    for line in t.lines() {
        // `--- {openapi: 3.1.0}`: a flow root on the document-start line.
        let (line, after_marker) = match line.strip_prefix("---") {
            Some(rest) if rest.is_empty() || rest.starts_with([' ', '\t']) => {
                at_doc_start = true;
                (rest.trim_start(), true)
            }
            _ => (line, false),
        };
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') || content.starts_with('%') {
            continue;
        }
        if at_doc_start && content.starts_with('{') {
            // The rest of the text from this `{` on.
            let offset = content.as_ptr() as usize - t.as_ptr() as usize;
            if sniff_flow(t.as_bytes().get(offset..).unwrap_or(&[])) {
                return true;
            }
        }
        at_doc_start = false;
        if after_marker || line.starts_with([' ', '\t']) {
            continue;
        }
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

/// Scans one flow mapping (from its `{`) for an `openapi`/`swagger` key at depth 1, quoted or
/// plain. Stops at the mapping's end.
fn sniff_flow(b: &[u8]) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    // At depth 1, whether the next token is in key position (after `{` or `,`).
    let mut key_position = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'{' | b'[' => {
                depth += 1;
                key_position = depth == 1 && c == b'{';
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return false;
                }
            }
            b',' => key_position = depth == 1,
            b'#' if i > 0 && b[i - 1].is_ascii_whitespace() => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' | b'\'' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != c {
                    j += if c == b'"' && b[j] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 && key_position && is_root_key(b, start, j.min(b.len()), j + 1) {
                    return true;
                }
                key_position = false;
                i = j;
            }
            c if c.is_ascii_whitespace() => {}
            _ => {
                if depth == 1 && key_position {
                    let start = i;
                    let mut j = i;
                    while j < b.len() && !matches!(b[j], b':' | b',' | b'}' | b' ' | b'\t') {
                        j += 1;
                    }
                    if is_root_key(b, start, j, j) {
                        return true;
                    }
                    i = j.saturating_sub(1);
                }
                key_position = false;
            }
        }
        i += 1;
    }
    false
}

/// Whether `b[start..end]` is `openapi`/`swagger` and the next non-blank byte from `after` is
/// `:`.
fn is_root_key(b: &[u8], start: usize, end: usize, after: usize) -> bool {
    let key = b.get(start..end).unwrap_or(&[]);
    if key != b"openapi" && key != b"swagger" {
        return false;
    }
    let rest = b.get(after..).unwrap_or(&[]);
    rest.iter()
        .find(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
        == Some(&b':')
}

/// The parsed OpenAPI documents of one file (a YAML stream may hold several), with their
/// facts, ready to be linked into the model.
#[derive(Debug)]
pub struct Document {
    pub documents: Vec<ApiDocument>,
    pub operations: Vec<Operation>,
    pub exemptions: Vec<Exemption>,
    /// Problems that did not stop the document from being checked (an unresolvable `$ref`, a
    /// duplicate key).
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

/// Parses a JSON or YAML text into trees (JSON first for `.json` files and texts that start
/// with `{`; a `{`-text that is not JSON is tried as YAML flow).
fn parse_tree<'t>(
    path: &Path,
    text: &'t str,
    settings: &OpenApiSettings,
) -> Result<Parsed<'t>, ParseError> {
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

/// Parses a file's documents; `Ok(None)` when none of them is an OpenAPI document.
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
    let parsed =
        parse_tree(&file.path.abs, text, settings).map_err(|e| error_at(&rel, text, &e))?;
    let roots: Vec<(Node<'_>, SpecVersion)> = parsed
        .docs
        .into_iter()
        .filter_map(|d| extract::version(&d).map(|v| (d, v)))
        .collect();
    if roots.is_empty() {
        return Ok(None);
    }
    let abs = crate::discover::absolute(&file.path.abs);
    let root_dir = crate::discover::absolute(&settings.root);
    // A document outside the scan root may still reference its own neighbours.
    let allowed_root = if abs.starts_with(&root_dir) {
        root_dir
    } else {
        abs.parent().map_or(root_dir, Path::to_path_buf)
    };
    let mut out = Document {
        documents: Vec::new(),
        operations: Vec::new(),
        exemptions: Vec::new(),
        errors: Vec::new(),
    };
    // Keys repeated in the root file are reported once, whatever the number of documents.
    let mut root_duplicates = Some(parsed.duplicates);
    for (root, version) in roots {
        let mut base_path = crate::contract::spec_base_path(&root, version);
        let src = Src::new(
            rel.clone(),
            abs.clone(),
            Cow::Borrowed(text),
            root,
            root_duplicates.take().unwrap_or_default(),
        );
        let mut files = Files::new(src, allowed_root.clone());
        // Extract; load the files the pass wanted; again until nothing new is wanted.
        loop {
            let mut diag = Diagnostics::default();
            let pass = extract::extract(&files, version, &settings.key_fields, &mut diag);
            if diag.wanted.is_empty() {
                duplicate_errors(&files, &mut diag);
                let first = out.operations.len();
                out.operations.extend(pass.operations);
                out.documents.push(ApiDocument {
                    file: rel.clone(),
                    version,
                    strategy: pass.strategy,
                    base_path: base_path.take(),
                    operations: first..out.operations.len(),
                });
                out.exemptions.extend(pass.exemptions);
                out.errors.extend(diag.errors);
                break;
            }
            load(&mut files, diag.wanted, settings);
        }
    }
    Ok(Some(out))
}

/// Reports every key written twice in one mapping of the document's files: the later one is
/// checked, the earlier one is not, and the spec is ambiguous until one is removed.
fn duplicate_errors(files: &Files<'_>, diag: &mut Diagnostics) {
    for (i, f) in files.files().iter().enumerate() {
        for d in &f.duplicates {
            let first = files.loc(i, d.first.0, d.first.1);
            diag.error(
                files,
                i,
                d.second,
                format!(
                    "duplicate key `{}`: also written at {}:{}:{} in the same mapping; only this last one is checked (remove one)",
                    d.key, first.file, first.line, first.column
                ),
            );
        }
    }
}

/// Loads the files an extraction pass wanted (read and parsed in parallel), or records why
/// each cannot be.
fn load(files: &mut Files<'_>, wanted: Vec<PathBuf>, settings: &OpenApiSettings) {
    let room = MAX_REFERENCED_FILES.saturating_sub(files.len());
    let mut wanted = wanted;
    if wanted.len() > room {
        for abs in wanted.split_off(room) {
            files.failed.insert(
                abs,
                format!(
                    "more than {MAX_REFERENCED_FILES} files referenced by one document; not loaded"
                ),
            );
        }
    }
    let real_root = files.allowed_root.canonicalize().ok();
    let loaded: Vec<Result<Src<'static>, (PathBuf, String)>> = wanted
        .into_par_iter()
        .map(|abs| read_referenced(abs, real_root.as_deref(), settings))
        .collect();
    for l in loaded {
        match l {
            Ok(src) => files.push(src),
            Err((abs, why)) => {
                files.failed.insert(abs, why);
            }
        }
    }
}

/// Reads and parses one referenced file.
fn read_referenced(
    abs: PathBuf,
    real_root: Option<&Path>,
    settings: &OpenApiSettings,
) -> Result<Src<'static>, (PathBuf, String)> {
    // Symlinks must not lead out of the root either.
    let inside = match (abs.canonicalize(), real_root) {
        (Ok(real), Some(root)) => real.starts_with(root),
        (Err(e), _) => return Err((abs, format!("cannot read the file: {e}"))),
        (_, None) => true,
    };
    if !inside {
        return Err((
            abs,
            "the file resolves (through a symlink) outside the scanned root; refused".into(),
        ));
    }
    let rel = crate::source::relative(&settings.root, &abs);
    match std::fs::metadata(&abs) {
        Ok(m) if m.len() > settings.max_file_size => {
            let why = format!("the file is over the {} byte limit", settings.max_file_size);
            return Err((abs, why));
        }
        Ok(m) if !m.is_file() => return Err((abs, "not a file".into())),
        Ok(_) => {}
        Err(e) => return Err((abs, format!("cannot read the file: {e}"))),
    }
    // read as every other input is: the same size bound, and bad UTF-8 located
    let path = SourcePath {
        rel: rel.clone(),
        abs: abs.clone(),
        kind: FileKind::OpenApiCandidate,
        explicit: false,
    };
    let text = match SourceFile::read(path, settings.max_file_size) {
        Ok(file) => file.text,
        Err(e) => return Err((abs, e.message)),
    };
    let parsed = match parse_tree(&abs, &text, settings) {
        Ok(p) => p,
        Err(e) => {
            let index = LineIndex::new(&text);
            let (line, col) = index.line_col(&text, e.offset);
            let why = format!(
                "`{rel}` does not parse: {} (line {line}, column {col})",
                e.message
            );
            return Err((abs, why));
        }
    };
    let n = parsed.docs.len();
    if n > 1 {
        let why = format!(
            "`{rel}` holds {n} YAML documents; a `$ref` can only point into a file with one"
        );
        return Err((abs, why));
    }
    let duplicates = parsed.duplicates;
    let root = parsed.docs.into_iter().next().map_or(
        Node {
            start: 0,
            end: 0,
            value: tree::Value::Null,
        },
        Node::into_owned,
    );
    Ok(Src::new(rel, abs, Cow::Owned(text), root, duplicates))
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
        // document operation ranges are relative to their file; shift them into the model's
        let shift = model.openapi.operations.len();
        model
            .openapi
            .documents
            .extend(doc.documents.into_iter().map(|mut d| {
                d.operations = d.operations.start + shift..d.operations.end + shift;
                d
            }));
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
            key_fields: crate::config::default_key_fields(),
        }
    }

    /// The settings of a check rooted at `root`.
    fn settings_in(root: &Path) -> OpenApiSettings {
        OpenApiSettings {
            root: root.to_path_buf(),
            ..settings()
        }
    }

    fn source(name: &str, text: &str) -> SourceFile {
        source_in(Path::new("/nonexistent-root"), name, text)
    }

    /// The file `name` under `root`, with `text`, named on the command line.
    fn source_in(root: &Path, name: &str, text: &str) -> SourceFile {
        SourceFile {
            path: SourcePath {
                rel: Arc::from(name),
                abs: root.join(name),
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

    /// The same for split specs: every prefix and many corruptions of each referenced file
    /// (operation files, shared responses, parameters, a JSON component file), and of the
    /// root, on disk, with the root checked each time.
    #[test]
    fn corrupted_split_specs_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let root = crate::discover::absolute(dir.path());
        let files = [
            (
                "api.yaml",
                include_str!("../../../fixtures/openapi/split-ops/api.yaml"),
            ),
            (
                "resources/ssh_keys/sshKeys_create.yml",
                include_str!(
                    "../../../fixtures/openapi/split-ops/resources/ssh_keys/sshKeys_create.yml"
                ),
            ),
            (
                "resources/ssh_keys/parameters.yml",
                include_str!(
                    "../../../fixtures/openapi/split-ops/resources/ssh_keys/parameters.yml"
                ),
            ),
            (
                "shared/responses/too_many_requests.yml",
                include_str!(
                    "../../../fixtures/openapi/split-ops/shared/responses/too_many_requests.yml"
                ),
            ),
            (
                "shared/responses/headers.yml",
                include_str!("../../../fixtures/openapi/split-ops/shared/responses/headers.yml"),
            ),
            (
                "resources/loop/a.yml",
                include_str!("../../../fixtures/openapi/split-ops/resources/loop/a.yml"),
            ),
            (
                "resources/loop/b.yml",
                include_str!("../../../fixtures/openapi/split-ops/resources/loop/b.yml"),
            ),
            (
                "resources/ssh_keys/sshKeys_list.yml",
                "operationId: l\nresponses: {'429': {$ref: 'common.json#/TooMany'}}\n",
            ),
            (
                "resources/ssh_keys/common.json",
                include_str!("../../../fixtures/openapi/split/common/responses.json"),
            ),
        ];
        for (name, text) in files {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        let s = settings_in(&root);
        let source = |text: &str| source_in(&root, "api.yaml", text);
        let (_, root_text) = files[0];
        // The whole spec parses to facts first (so the corruptions below do reach every file).
        let clean = parse_document(&source(root_text), &s).unwrap().unwrap();
        let create = clean
            .operations
            .iter()
            .find(|o| o.operation_id.as_deref() == Some("sshKeys_create"));
        assert!(
            create.is_some_and(|o| !o.key_headers.is_empty()),
            "{clean:#?}"
        );
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for (name, text) in files {
            let path = root.join(name);
            let check = |t: &str| {
                if name == "api.yaml" {
                    let _ = parse_document(&source(t), &s);
                } else {
                    std::fs::write(&path, t).unwrap();
                    let _ = parse_document(&source(root_text), &s);
                }
            };
            for cut in (0..text.len()).filter(|i| text.is_char_boundary(*i)) {
                check(&text[..cut]);
            }
            for _ in 0..300 {
                if let Ok(t) = String::from_utf8(corrupt(text.as_bytes(), &mut seed)) {
                    check(&t);
                }
            }
            std::fs::write(&path, text).unwrap();
        }
    }

    /// An operation file reached through a symlink that leaves the scan root is refused, with
    /// the reason at the `$ref`; the same file inside the root is read.
    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_root_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        let op = "operationId: create\nparameters:\n  - {in: header, name: Idempotency-Key, schema: {type: string, maxLength: 9}}\n";
        std::fs::write(outside.path().join("create.yml"), op).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = crate::discover::absolute(dir.path());
        std::fs::create_dir_all(root.join("ops")).unwrap();
        std::fs::write(root.join("ops/inside.yml"), op).unwrap();
        std::os::unix::fs::symlink(outside.path().join("create.yml"), root.join("ops/link.yml"))
            .unwrap();
        let text = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    post:\n      $ref: ops/link.yml\n  /b:\n    post:\n      $ref: ops/inside.yml\n";
        let s = settings_in(&root);
        let source = source_in(&root, "api.yaml", text);
        let doc = parse_document(&source, &s).unwrap().unwrap();
        let paths: Vec<&str> = doc.operations.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(paths, ["/b"]);
        assert_eq!(&*doc.operations[0].location.file, "ops/inside.yml");
        assert_eq!(doc.errors.len(), 1, "{:#?}", doc.errors);
        let e = &doc.errors[0];
        assert!(e.message.contains("through a symlink"), "{}", e.message);
        assert_eq!(e.location.as_ref().map(|l| l.line), Some(6));
    }

    /// A referenced file is read as every other input: invalid UTF-8 is reported with the
    /// line and column of the bad byte, at the `$ref`.
    #[test]
    fn referenced_files_are_read_by_the_source_reader() {
        let dir = tempfile::tempdir().unwrap();
        let root = crate::discover::absolute(dir.path());
        std::fs::write(
            root.join("create.yml"),
            b"operationId: create\nsummary: caf\xe9\n".as_slice(),
        )
        .unwrap();
        let text = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    post:\n      $ref: create.yml\n";
        let s = settings_in(&root);
        let source = source_in(&root, "api.yaml", text);
        let doc = parse_document(&source, &s).unwrap().unwrap();
        assert_eq!(doc.errors.len(), 1, "{:#?}", doc.errors);
        let e = &doc.errors[0];
        assert!(
            e.message
                .contains("not valid UTF-8 (invalid byte 0xe9 at line 2, column 13)"),
            "{}",
            e.message
        );
        assert_eq!(e.location.as_ref().map(|l| l.line), Some(6));
    }

    fn corrupt(bytes: &[u8], seed: &mut u64) -> Vec<u8> {
        let noise = [
            b'{', b'}', b'[', b']', b':', b',', b'"', b'\'', b'&', b'*', b'\n', b' ', b'-', b'#',
            b'!', b'|', b'>', b'\\', b'%', b'@', b'$',
        ];
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let mut b = bytes.to_vec();
        if !b.is_empty() {
            let at = (*seed as usize) % b.len();
            b[at] = noise[(*seed >> 32) as usize % noise.len()];
        }
        b
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
        // YAML flow roots, plain or quoted keys, and later documents of a stream
        assert!(sniff("{openapi: 3.1.0, info: {}}"));
        assert!(sniff(
            "# spec\n{\n  info: {title: x},\n  'swagger': '2.0'\n}\n"
        ));
        assert!(sniff("kind: ConfigMap\n---\nopenapi: 3.0.0\n"));
        assert!(sniff("kind: ConfigMap\n--- {openapi: 3.0.0}\n"));
        assert!(!sniff("{info: {openapi: 3.0.0}, x: 'openapi: 1'}"));
        assert!(!sniff("{a: b} # openapi: 3\n"));
    }
}
