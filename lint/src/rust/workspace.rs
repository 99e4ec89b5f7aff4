//! What Cargo knows about the scanned files: which package each file belongs to, what role it
//! plays there (library or binary source, example, test, bench, or a file no target names),
//! and each package's library name and path dependencies (renames and `workspace = true`
//! included), so paths into sibling crates of a workspace resolve.
//!
//! Manifests are read from disk next to the scanned files; a manifest that cannot be read or
//! parsed only loses its package's dependency table (its files are still checked).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use crate::paths::normalize;

/// What a Rust file is to Cargo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Inside a package's `src/` (or a target path the manifest names), `build.rs`, or an
    /// example: production code, analysed when reachable from its crate root.
    Source,
    /// A package's `tests/` or `benches/`: judged only with `include-tests`.
    Test,
    /// Inside a package but under no target folder (test data, fixtures, vendored snippets):
    /// not compiled unless a `mod` with `#[path]` pulls it in.
    Unowned,
    /// Not inside any package: a loose file, checked as a crate of its own.
    Loose,
}

/// One dependency as code names it.
#[derive(Debug, Clone)]
pub struct Dep {
    /// The name used in paths (`foo-bar` → `foo_bar`, or the rename).
    pub name: String,
    /// The package folder, for path dependencies.
    pub path: Option<PathBuf>,
}

/// A package manifest, as far as resolution needs it.
#[derive(Debug, Clone, Default)]
pub struct Package {
    pub dir: PathBuf,
    /// The library's name in paths, if the package has a library.
    pub lib_name: Option<String>,
    pub deps: Vec<Dep>,
    /// Extra target source files named in the manifest (`[lib] path`, `[[bin]] path`).
    pub target_paths: Vec<PathBuf>,
    /// `[[test]]`/`[[bench]]` targets kept inside `src/` (`path = "src/tests/mod.rs"`): their
    /// root files and the folders of their modules are test code.
    pub test_roots: Vec<(PathBuf, PathBuf)>,
}

/// `[workspace.dependencies]`: name → its table.
type WorkspaceDeps = HashMap<String, toml::Value>;

/// Manifests found above the scanned files, cached per folder.
#[derive(Debug, Default)]
pub struct Workspace {
    /// folder → the package folder it belongs to (None: not in a package)
    owners: Mutex<HashMap<PathBuf, Option<PathBuf>>>,
    packages: Mutex<HashMap<PathBuf, Option<Arc<Package>>>>,
    /// folder with a manifest → its `[workspace.dependencies]`, `None` when the manifest is
    /// not a workspace root (so each manifest is read once, whatever the number of deps)
    workspace_deps: Mutex<HashMap<PathBuf, Option<Arc<WorkspaceDeps>>>>,
}

/// The `path`s of the `[[bin]]`, `[[test]]`… targets of the `kinds` a manifest declares.
fn declared_paths<'a>(
    table: &'a toml::Table,
    dir: &'a Path,
    kinds: &'a [&str],
) -> impl Iterator<Item = PathBuf> + 'a {
    kinds
        .iter()
        .filter_map(|kind| table.get(*kind).and_then(|v| v.as_array()))
        .flatten()
        .filter_map(|t| t.get("path").and_then(|v| v.as_str()))
        .map(|p| normalize(&dir.join(p)))
}

fn read_toml(path: &Path) -> Option<toml::Table> {
    let text = std::fs::read_to_string(path).ok()?;
    text.parse::<toml::Table>().ok()
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace::default()
    }

    /// The package folder `dir` belongs to: the nearest folder at or above it whose
    /// `Cargo.toml` has a `[package]`.
    pub fn package_dir(&self, dir: &Path) -> Option<PathBuf> {
        if let Ok(m) = self.owners.lock() {
            if let Some(v) = m.get(dir) {
                return v.clone();
            }
        }
        let found = if self.package(dir).is_some() {
            Some(dir.to_path_buf())
        } else {
            dir.parent().and_then(|p| self.package_dir(p))
        };
        if let Ok(mut m) = self.owners.lock() {
            m.insert(dir.to_path_buf(), found.clone());
        }
        found
    }

    /// The package whose manifest is in `dir`, if any.
    pub fn package(&self, dir: &Path) -> Option<Arc<Package>> {
        if let Ok(m) = self.packages.lock() {
            if let Some(p) = m.get(dir) {
                return p.clone();
            }
        }
        let pkg = self.load(dir).map(Arc::new);
        if let Ok(mut m) = self.packages.lock() {
            m.insert(dir.to_path_buf(), pkg.clone());
        }
        pkg
    }

    fn load(&self, dir: &Path) -> Option<Package> {
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            return None;
        }
        let table = read_toml(&manifest)?;
        let package = table.get("package")?.as_table()?;
        let name = package.get("name").and_then(|v| v.as_str()).unwrap_or("");
        let lib = table.get("lib").and_then(|v| v.as_table());
        let has_lib = lib.is_some() || dir.join("src/lib.rs").is_file();
        let lib_name = has_lib.then(|| {
            lib.and_then(|l| l.get("name"))
                .and_then(|v| v.as_str())
                .unwrap_or(name)
                .replace('-', "_")
        });
        let mut target_paths = Vec::new();
        if let Some(p) = lib.and_then(|l| l.get("path")).and_then(|v| v.as_str()) {
            target_paths.push(normalize(&dir.join(p)));
        }
        target_paths.extend(declared_paths(&table, dir, &["bin", "example"]));
        let mut test_roots = Vec::new();
        for file in declared_paths(&table, dir, &["test", "bench"]) {
            let mods = match file.file_name().and_then(|n| n.to_str()) {
                Some("mod.rs" | "main.rs" | "lib.rs") => file.parent().map(Path::to_path_buf),
                _ => Some(file.with_extension("")),
            };
            if let Some(mods) = mods {
                test_roots.push((file, mods));
            }
        }
        let mut deps = Vec::new();
        let mut sections: Vec<&toml::Table> = Vec::new();
        if let Some(d) = table.get("dependencies").and_then(|v| v.as_table()) {
            sections.push(d);
        }
        // target-specific dependencies: [target.'cfg(…)'.dependencies]
        if let Some(targets) = table.get("target").and_then(|v| v.as_table()) {
            for t in targets.values() {
                if let Some(d) = t.get("dependencies").and_then(|v| v.as_table()) {
                    sections.push(d);
                }
            }
        }
        for section in sections {
            for (key, value) in section {
                deps.push(self.dep(dir, key, value));
            }
        }
        Some(Package {
            dir: dir.to_path_buf(),
            lib_name,
            deps,
            target_paths,
            test_roots,
        })
    }

    fn dep(&self, dir: &Path, key: &str, value: &toml::Value) -> Dep {
        let name = key.replace('-', "_");
        let Some(t) = value.as_table() else {
            return Dep { name, path: None };
        };
        if t.get("workspace").and_then(|v| v.as_bool()) == Some(true) {
            if let Some((root, v)) = self.workspace_dep(dir, key) {
                let path = v
                    .get("path")
                    .and_then(|p| p.as_str())
                    .map(|p| normalize(&root.join(p)));
                return Dep { name, path };
            }
            return Dep { name, path: None };
        }
        let path = t
            .get("path")
            .and_then(|p| p.as_str())
            .map(|p| normalize(&dir.join(p)));
        Dep { name, path }
    }

    /// `[workspace.dependencies] key` of the workspace `dir` belongs to.
    fn workspace_dep(&self, dir: &Path, key: &str) -> Option<(PathBuf, toml::Value)> {
        let mut cur = Some(dir);
        let mut hops = 0;
        while let Some(d) = cur {
            hops += 1;
            if hops > 64 {
                break;
            }
            let cached = self
                .workspace_deps
                .lock()
                .ok()
                .and_then(|m| m.get(d).cloned());
            let deps = match cached {
                Some(deps) => deps,
                None => {
                    let manifest = d.join("Cargo.toml");
                    let deps = manifest
                        .is_file()
                        .then(|| read_toml(&manifest))
                        .flatten()
                        .and_then(|t| {
                            let ws = t.get("workspace")?.as_table()?;
                            Some(Arc::new(
                                ws.get("dependencies")
                                    .and_then(|v| v.as_table())
                                    .map(|t| {
                                        t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
                                    })
                                    .unwrap_or_default(),
                            ))
                        });
                    if let Ok(mut m) = self.workspace_deps.lock() {
                        m.insert(d.to_path_buf(), deps.clone());
                    }
                    deps
                }
            };
            if let Some(deps) = deps {
                return deps.get(key).cloned().map(|v| (d.to_path_buf(), v));
            }
            cur = d.parent();
        }
        None
    }

    /// Whether the file at `abs` is a crate root its package's manifest names by path.
    pub fn is_target(&self, abs: &Path) -> bool {
        abs.parent()
            .and_then(|d| self.package_dir(d))
            .and_then(|d| self.package(&d))
            .is_some_and(|p| p.target_paths.iter().any(|t| t == abs))
    }

    /// The role of the Rust file at `abs` (normalized, absolute).
    pub fn role(&self, abs: &Path) -> Role {
        let Some(dir) = abs.parent() else {
            return Role::Loose;
        };
        let Some(pkg_dir) = self.package_dir(dir) else {
            return Role::Loose;
        };
        let Ok(inside) = abs.strip_prefix(&pkg_dir) else {
            return Role::Loose;
        };
        let package = self.package(&pkg_dir);
        if package.as_ref().is_some_and(|p| {
            p.test_roots
                .iter()
                .any(|(file, mods)| abs == file || abs.starts_with(mods))
        }) {
            return Role::Test;
        }
        if package.is_some_and(|p| p.target_paths.iter().any(|t| t == abs)) {
            return Role::Source;
        }
        let first = inside
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        match first.as_deref() {
            Some("src" | "examples") => Role::Source,
            Some("build.rs") => Role::Source,
            Some("tests" | "benches") => Role::Test,
            _ => Role::Unowned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).ok();
        }
        std::fs::write(p, text).ok();
    }

    #[test]
    fn test_targets_inside_src_are_test_code() {
        let tmp = std::env::temp_dir().join(format!("idemgate-ws-tt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        write(
            &tmp,
            "Cargo.toml",
            "[package]\nname = \"app\"\n[[test]]\nname = \"integration\"\npath = \"src/tests/mod.rs\"\n",
        );
        write(&tmp, "src/lib.rs", "pub fn a() {}");
        write(&tmp, "src/tests/mod.rs", "mod db;");
        write(&tmp, "src/tests/db.rs", "fn t() {}");
        let root = normalize(&tmp);
        let ws = Workspace::default();
        assert_eq!(ws.role(&root.join("src/lib.rs")), Role::Source);
        assert_eq!(ws.role(&root.join("src/tests/mod.rs")), Role::Test);
        assert_eq!(ws.role(&root.join("src/tests/db.rs")), Role::Test);
        let _ = std::fs::remove_dir_all(&tmp);
    }

    #[test]
    fn roles_and_dependencies() {
        let Ok(tmp) = tempfile::tempdir() else {
            return;
        };
        let root = tmp.path();
        write(
            root,
            "Cargo.toml",
            "[workspace]\nmembers=['server','handlers']\n[workspace.dependencies]\nhandlers = { path = 'handlers' }\n",
        );
        write(
            root,
            "server/Cargo.toml",
            "[package]\nname='server'\n[dependencies]\nhandlers = { workspace = true }\napi = { package = 'handlers', path = '../handlers' }\nserde = '1'\n",
        );
        write(root, "server/src/main.rs", "");
        write(
            root,
            "handlers/Cargo.toml",
            "[package]\nname='my-handlers'\n[lib]\nname='handlers'\n",
        );
        write(root, "handlers/src/lib.rs", "");
        write(root, "handlers/tests/it.rs", "");
        write(root, "handlers/test_data/bad.rs", "");
        let ws = Workspace::new();
        assert_eq!(ws.role(&root.join("server/src/main.rs")), Role::Source);
        assert_eq!(ws.role(&root.join("handlers/tests/it.rs")), Role::Test);
        assert_eq!(
            ws.role(&root.join("handlers/test_data/bad.rs")),
            Role::Unowned
        );
        assert_eq!(ws.role(&root.join("loose.rs")), Role::Loose);
        let server = ws.package(&root.join("server"));
        let deps = server.map(|p| p.deps.clone()).unwrap_or_default();
        let h = root.join("handlers");
        assert!(deps
            .iter()
            .any(|d| d.name == "handlers" && d.path.as_deref() == Some(h.as_path())));
        assert!(deps
            .iter()
            .any(|d| d.name == "api" && d.path.as_deref() == Some(h.as_path())));
        assert!(deps.iter().any(|d| d.name == "serde" && d.path.is_none()));
        let lib = ws.package(&h).and_then(|p| p.lib_name.clone());
        assert_eq!(lib.as_deref(), Some("handlers"));
    }
}
