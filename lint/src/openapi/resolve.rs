//! `$ref` resolution over the files of one document: local JSON pointers (`~0`, `~1`,
//! percent-encoding) and relative files inside the allowed root. Remote URLs are never
//! fetched and `file://` URLs and escaping paths are refused, each with a clear message at the
//! `$ref`. A file that is not loaded yet is recorded as wanted; the caller loads it and runs
//! the extraction again (so the trees stay immutable while they are walked).

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use idemgate_rules::model::FileError;
use idemgate_rules::{LineIndex, Location};

use super::tree::{Duplicate, Entry, Node};

/// `$ref` targets stay inside the filesystem root: `None` when `..` climbs above it.
pub use crate::paths::normalize_within as normalize;

/// One file of a document (the root file is index 0).
pub struct Src<'a> {
    pub rel: Arc<str>,
    pub abs: PathBuf,
    pub text: std::borrow::Cow<'a, str>,
    pub root: Node<'a>,
    /// Keys written twice in one mapping of this file (reported once per document).
    pub duplicates: Vec<Duplicate>,
    index: OnceCell<LineIndex>,
}

impl<'a> Src<'a> {
    pub fn new(
        rel: Arc<str>,
        abs: PathBuf,
        text: std::borrow::Cow<'a, str>,
        root: Node<'a>,
        duplicates: Vec<Duplicate>,
    ) -> Self {
        Src {
            rel,
            abs,
            text,
            root,
            duplicates,
            index: OnceCell::new(),
        }
    }
}

/// The loaded files of a document, and what the last pass learned it still needs.
pub struct Files<'a> {
    files: Vec<Src<'a>>,
    /// Where each loaded file is in `files`, by absolute path.
    by_path: HashMap<PathBuf, usize>,
    /// Files that could not be loaded, with why.
    pub failed: HashMap<PathBuf, String>,
    /// Relative `$ref`s may not leave this folder.
    pub allowed_root: PathBuf,
}

/// A node found by resolution, with the file it stands in.
#[derive(Clone, Copy)]
pub struct At<'f, 'a> {
    pub file: usize,
    pub node: &'f Node<'a>,
    /// The key under which the node stands, when the pointer ended at a mapping key.
    pub key: Option<(u32, u32)>,
}

/// What one extraction pass reports besides facts.
#[derive(Default)]
pub struct Diagnostics {
    /// Files referenced but not loaded yet, in the order they were first wanted.
    pub wanted: Vec<PathBuf>,
    wanted_set: HashSet<PathBuf>,
    pub errors: Vec<FileError>,
    seen: HashSet<(usize, u32)>,
}

impl Diagnostics {
    fn want(&mut self, abs: PathBuf) {
        if self.wanted_set.insert(abs.clone()) {
            self.wanted.push(abs);
        }
    }

    /// Records a problem at `span` of `file` (once per place).
    pub fn error(&mut self, files: &Files<'_>, file: usize, span: (u32, u32), message: String) {
        if self.seen.insert((file, span.0)) {
            self.errors.push(FileError {
                file: files.rel(file),
                location: Some(files.loc(file, span.0, span.1)),
                message,
            });
        }
    }
}

/// Most `$ref` hops followed for one value (a chain longer than this is treated as a cycle).
const MAX_HOPS: usize = 64;

impl<'a> Files<'a> {
    /// A document whose root file is `root`.
    pub fn new(root: Src<'a>, allowed_root: PathBuf) -> Self {
        let mut files = Files {
            files: Vec::new(),
            by_path: HashMap::new(),
            failed: HashMap::new(),
            allowed_root,
        };
        files.push(root);
        files
    }

    /// Adds a loaded file.
    pub fn push(&mut self, src: Src<'a>) {
        self.by_path
            .entry(src.abs.clone())
            .or_insert(self.files.len());
        self.files.push(src);
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn files(&self) -> &[Src<'a>] {
        &self.files
    }

    pub fn rel(&self, file: usize) -> Arc<str> {
        self.files
            .get(file)
            .map_or_else(|| Arc::from(""), |f| f.rel.clone())
    }

    /// The location of the byte range `start..end` in `file`.
    pub fn loc(&self, file: usize, start: u32, end: u32) -> Location {
        match self.files.get(file) {
            Some(f) => {
                let index = f.index.get_or_init(|| LineIndex::new(&f.text));
                index.location(&f.rel, &f.text, start as usize, end as usize)
            }
            None => Location::file_start(Arc::from("")),
        }
    }

    pub fn root(&self) -> At<'_, 'a> {
        At {
            file: 0,
            node: match self.files.first() {
                Some(f) => &f.root,
                None => &NULL,
            },
            key: None,
        }
    }

    /// Follows `$ref`s from `at` until a node that is not a reference. `None` when a reference
    /// cannot be resolved (the reason is in `diag`, or the file is wanted); a cycle is an error.
    pub fn deref<'f>(&'f self, at: At<'f, 'a>, diag: &mut Diagnostics) -> Option<At<'f, 'a>> {
        if at.node.ref_target().is_none() {
            return Some(at);
        }
        self.follow(at, diag).map(|(at, _)| at)
    }

    /// [`Files::deref`], also naming the definition reached, as `file#pointer` relative to the
    /// scan root (a stable identity for findings), when at least one `$ref` was followed.
    pub fn deref_named<'f>(
        &'f self,
        at: At<'f, 'a>,
        diag: &mut Diagnostics,
    ) -> Option<(At<'f, 'a>, Option<String>)> {
        let (cur, last) = self.follow(at, diag)?;
        let name = last.map(|(file, target)| {
            let fragment = target.find('#').map_or("", |i| &target[i + 1..]);
            format!("{}#{}", self.rel(file), percent_decode(fragment))
        });
        Some((cur, name))
    }

    /// Follows the chain; also returns the last `$ref` followed and the file it led to.
    fn follow<'f>(
        &'f self,
        at: At<'f, 'a>,
        diag: &mut Diagnostics,
    ) -> Option<(At<'f, 'a>, Option<(usize, &'f str)>)> {
        let mut cur = at;
        let mut last = None;
        let mut visited: Vec<(usize, u32, u32)> = Vec::new();
        let mut chain: Vec<&'f str> = Vec::new();
        while let Some((target, entry)) = cur.node.ref_target() {
            let here = (cur.file, entry.value.start, entry.value.end);
            if visited.contains(&here) || visited.len() >= MAX_HOPS {
                let first = visited.first().copied().unwrap_or(here);
                diag.error(
                    self,
                    first.0,
                    (first.1, first.2),
                    format!(
                        "`$ref` cycle: {}; the value it stands for is never defined",
                        chain
                            .iter()
                            .map(|c| format!("`{c}`"))
                            .collect::<Vec<_>>()
                            .join(" → ")
                    ),
                );
                return None;
            }
            visited.push(here);
            chain.push(target);
            cur = self.resolve(cur.file, target, entry, diag)?;
            last = Some((cur.file, target));
        }
        Some((cur, last))
    }

    /// Resolves one `$ref` string written in `file` (at `entry`, the `$ref` member).
    pub fn resolve<'f>(
        &'f self,
        file: usize,
        target: &str,
        entry: &Entry<'a>,
        diag: &mut Diagnostics,
    ) -> Option<At<'f, 'a>> {
        let span = (entry.value.start, entry.value.end);
        let scheme = |p: &str| {
            target
                .get(..p.len())
                .is_some_and(|t| t.eq_ignore_ascii_case(p))
        };
        if scheme("http://") || scheme("https://") {
            diag.error(
                self,
                file,
                span,
                format!(
                    "remote `$ref` `{target}` is not fetched (idemgate never touches the network); \
                     vendor the file next to the spec and reference it by a relative path"
                ),
            );
            return None;
        }
        if scheme("file:") {
            diag.error(
                self,
                file,
                span,
                format!("`file:` URL `{target}` in `$ref` is refused; use a path relative to the document"),
            );
            return None;
        }
        let (path_part, fragment) = match target.find('#') {
            Some(i) => (&target[..i], &target[i + 1..]),
            None => (target, ""),
        };
        if let Some(colon) = path_part.find(':') {
            if !path_part[..colon].contains('/') {
                diag.error(
                    self,
                    file,
                    span,
                    format!("`$ref` `{target}` uses a URL scheme idemgate does not resolve"),
                );
                return None;
            }
        }
        let target_file = if path_part.is_empty() {
            file
        } else {
            let decoded = percent_decode(path_part);
            let base = self
                .files
                .get(file)
                .and_then(|f| f.abs.parent())
                .unwrap_or(Path::new(""));
            let Some(abs) = normalize(&base.join(&*decoded)) else {
                diag.error(
                    self,
                    file,
                    span,
                    format!("`$ref` `{target}` is not a valid path"),
                );
                return None;
            };
            if !abs.starts_with(&self.allowed_root) {
                diag.error(
                    self,
                    file,
                    span,
                    format!(
                        "`$ref` `{target}` leaves the folder being scanned; refused (only files under the scan root are read)"
                    ),
                );
                return None;
            }
            if let Some(why) = self.failed.get(&abs) {
                diag.error(self, file, span, format!("`$ref` `{target}`: {why}"));
                return None;
            }
            match self.by_path.get(&abs) {
                Some(i) => *i,
                None => {
                    diag.want(abs);
                    return None;
                }
            }
        };
        let pointer = percent_decode(fragment);
        let root = &self.files.get(target_file)?.root;
        if pointer.is_empty() {
            return Some(At {
                file: target_file,
                node: root,
                key: None,
            });
        }
        let Some(rest) = pointer.strip_prefix('/') else {
            diag.error(
                self,
                file,
                span,
                format!("`$ref` `{target}`: only JSON pointer fragments (`#/…`) are supported"),
            );
            return None;
        };
        let mut node = root;
        let mut key = None;
        for raw in rest.split('/') {
            let seg: std::borrow::Cow<'_, str> = if raw.contains('~') {
                raw.replace("~1", "/").replace("~0", "~").into()
            } else {
                raw.into()
            };
            let next = if node.is_map() {
                node.entry(&seg).map(|e| {
                    key = Some((e.key_start, e.key_end));
                    &e.value
                })
            } else {
                key = None;
                seg.parse::<usize>().ok().and_then(|i| node.items().get(i))
            };
            match next {
                Some(n) => node = n,
                None => {
                    diag.error(
                        self,
                        file,
                        span,
                        format!("`$ref` `{target}` points at nothing: there is no `{seg}`"),
                    );
                    return None;
                }
            }
        }
        Some(At {
            file: target_file,
            node,
            key,
        })
    }
}

static NULL: Node<'static> = Node {
    start: 0,
    end: 0,
    value: super::tree::Value::Null,
};

/// Decodes `%XX` escapes (invalid ones are kept as written).
pub fn percent_decode(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('%') {
        return s.into();
    }
    percent_encoding::percent_decode_str(s).decode_utf8_lossy()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d.yaml")),
            Some(PathBuf::from("/a/c/d.yaml"))
        );
        assert_eq!(percent_decode("a%20b%7E"), "a b~");
    }
}
