//! Path helpers, in one place: every path the gate reports is [`relative`] to the scan root,
//! every path it compares is [`absolute`] or [`normalize`]d lexically. Nothing here touches the
//! file system beyond reading the current folder: symlinks stay as the user wrote them, so the
//! paths in a report are the user's paths.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// An absolute, lexically normalised path (relative paths are taken from the current folder).
pub fn absolute(p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    lexical(&joined, Above::Drop).unwrap_or_default()
}

/// `a/./b/../c` → `a/c`; a `..` above the start is kept (`../x` stays `../x`).
pub fn normalize(p: &Path) -> PathBuf {
    lexical(p, Above::Keep).unwrap_or_default()
}

/// Like [`normalize`], for a path that must stay inside its root (a `$ref` target): `None`
/// when a `..` climbs above it.
pub fn normalize_within(p: &Path) -> Option<PathBuf> {
    lexical(p, Above::Refuse)
}

/// What a `..` with nothing left to remove does.
#[derive(Clone, Copy)]
enum Above {
    /// Nothing (the root's parent is the root).
    Drop,
    /// It stays in the path.
    Keep,
    /// The path is refused.
    Refuse,
}

/// Removes `.` and resolves `..` against the components before it, without the file system.
fn lexical(p: &Path, above: Above) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    match above {
                        Above::Drop => {}
                        Above::Keep => out.push(".."),
                        Above::Refuse => return None,
                    }
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    Some(out)
}

/// `path` relative to `root`, `/`-separated; the full path when it is outside the root.
pub fn relative(root: &Path, path: &Path) -> Arc<str> {
    match path.strip_prefix(root) {
        Ok(rel) => {
            let parts: Vec<String> = rel
                .components()
                .filter(|c| !matches!(c, Component::CurDir))
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            Arc::from(parts.join("/"))
        }
        Err(_) => Arc::from(path.to_string_lossy().replace('\\', "/")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        let root = Path::new("/repo");
        assert_eq!(&*relative(root, Path::new("/repo/src/a.rs")), "src/a.rs");
        assert_eq!(&*relative(root, Path::new("/repo/./src/a.rs")), "src/a.rs");
        assert_eq!(
            &*relative(root, Path::new("/elsewhere/b.rs")),
            "/elsewhere/b.rs"
        );
    }

    #[test]
    fn normalizing() {
        assert_eq!(normalize(Path::new("a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
        assert_eq!(
            normalize_within(Path::new("/a/b/../c/./d.yaml")),
            Some(PathBuf::from("/a/c/d.yaml"))
        );
        assert_eq!(normalize_within(Path::new("a/../../b")), None);
        assert!(absolute(Path::new("x/../y")).is_absolute());
        assert!(absolute(Path::new("x/../y")).ends_with("y"));
    }
}
