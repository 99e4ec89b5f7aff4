//! File discovery: walk the given paths in parallel with the `ignore` crate (ripgrep's walker),
//! honouring `.gitignore`, skipping hidden folders and `target/`, never following symlinks.
//! Explicitly named files are always scanned.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

use crate::config::Settings;
use crate::source::{relative, FileKind, SourcePath};

pub use crate::paths::absolute;

/// A path given on the command line that cannot be scanned.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DiscoverError {
    #[error("path `{0}` does not exist")]
    #[diagnostic(code(idemgate::path_not_found))]
    NotFound(PathBuf),
    #[error("`{0}` is not a Rust or OpenAPI file (expected .rs, .yaml, .yml or .json)")]
    #[diagnostic(code(idemgate::unsupported_file))]
    Unsupported(PathBuf),
    /// A run with nothing to check would pass forever (a mistyped CI path): it is an error.
    #[error("nothing to check: no Rust file and no OpenAPI spec under {looked}{aside}")]
    #[diagnostic(
        code(idemgate::nothing_to_check),
        help("name the folders that hold the service's crates or specs; `--verbose` lists files set aside")
    )]
    NothingToCheck { looked: String, aside: String },
    /// A config nearer to some files than the run's cannot be used.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(Box<crate::config::ConfigError>),
}

fn kind_of(path: &Path) -> Option<FileKind> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("rs") => Some(FileKind::Rust),
        Some("yaml" | "yml" | "json") => Some(FileKind::OpenApiCandidate),
        _ => None,
    }
}

/// Every file to scan under `paths`, sorted by relative path (so reports are deterministic
/// whatever order the parallel walk found them in); `exclude` globs are those of `settings`.
pub fn discover(paths: &[PathBuf], settings: &Settings) -> Result<Vec<SourcePath>, DiscoverError> {
    let excluded = |path: &Path| {
        let rel = relative(&settings.config_dir, path);
        settings.exclude.as_ref().is_some_and(|g| g.is_match(&*rel))
    };
    discover_with(paths, settings, &excluded)
}

/// [`discover`], with `excluded` deciding which paths (files, or folders named on the command
/// line) a config excludes — under the closest config, each file by its own.
pub fn discover_with(
    paths: &[PathBuf],
    settings: &Settings,
    excluded: &(dyn Fn(&Path) -> bool + Sync),
) -> Result<Vec<SourcePath>, DiscoverError> {
    let found: Mutex<Vec<SourcePath>> = Mutex::new(Vec::new());
    let mut dirs = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|_| DiscoverError::NotFound(p.clone()))?;
        if meta.is_file() {
            let kind = kind_of(p).ok_or_else(|| DiscoverError::Unsupported(p.clone()))?;
            let abs = absolute(p);
            push(
                &found,
                SourcePath {
                    rel: relative(&settings.root, &abs),
                    abs,
                    kind,
                    explicit: true,
                },
            );
        } else {
            dirs.push(absolute(p));
        }
    }
    // A folder named on the command line is scanned even when the config excludes it (as a
    // file named there is): the user asked for it. Exclusions still apply inside other folders.
    let forced: Vec<PathBuf> = dirs.iter().filter(|d| excluded(d)).cloned().collect();
    if let Some((first, rest)) = dirs.split_first() {
        let mut builder = WalkBuilder::new(first);
        for d in rest {
            builder.add(d);
        }
        builder
            .hidden(true)
            .git_ignore(true)
            .git_exclude(true)
            .require_git(false)
            .follow_links(false)
            .threads(settings.threads)
            .filter_entry(|e| {
                !(e.file_type().is_some_and(|t| t.is_dir()) && e.file_name() == "target")
            });
        builder.build_parallel().run(|| {
            Box::new(|entry| {
                let Ok(entry) = entry else {
                    return WalkState::Continue;
                };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return WalkState::Continue;
                }
                let path = entry.path();
                let Some(kind) = kind_of(path) else {
                    return WalkState::Continue;
                };
                let rel = relative(&settings.root, path);
                let explicit_openapi = kind == FileKind::OpenApiCandidate
                    && settings
                        .openapi
                        .paths
                        .as_ref()
                        .is_some_and(|g| g.is_match(&*relative(&settings.config_dir, path)));
                if !explicit_openapi
                    && excluded(path)
                    && !forced.iter().any(|d| path.starts_with(d))
                {
                    return WalkState::Continue;
                }
                push(
                    &found,
                    SourcePath {
                        rel,
                        abs: path.to_path_buf(),
                        kind,
                        explicit: explicit_openapi,
                    },
                );
                WalkState::Continue
            })
        });
    }
    let mut files = found.into_inner().unwrap_or_else(|e| e.into_inner());
    files.sort_by(|a, b| a.rel.cmp(&b.rel).then(b.explicit.cmp(&a.explicit)));
    files.dedup_by(|a, b| a.rel == b.rel);
    Ok(files)
}

fn push(found: &Mutex<Vec<SourcePath>>, p: SourcePath) {
    found.lock().unwrap_or_else(|e| e.into_inner()).push(p);
}

/// The repository `start` is in: the nearest folder above it (or it) holding `.git` (a folder,
/// or a file in a worktree or submodule).
pub fn repo_root(start: &Path) -> Option<PathBuf> {
    let start = absolute(start);
    start
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}
