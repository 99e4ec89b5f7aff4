//! Closest config wins, as in ruff: each file is checked under the nearest `idemgate.toml`,
//! `.idemgate.toml` or Cargo `[workspace|package.metadata.idemgate]` above it. A service's own
//! config in a monorepo is honoured whether the gate starts at the repository root, in the
//! service, or with `--root`.
//!
//! What a nearer config decides for its files: rule severities (`[rules]`), exemptions and
//! `exclude`; its globs are relative to its own folder. It does not inherit from the configs
//! above it (as in ruff without `extend`). What concerns the run as a whole — `fail-level`,
//! `threads`, limits, side-effect methods, `[openapi]` — comes from the run's config: the one
//! nearest to the first path, or `--config` (which, like `--isolated`, turns discovery off).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use idemgate_rules::model::Exemption;
use idemgate_rules::Severity;

use crate::config::{self, ConfigError, Settings};
use crate::discover::absolute;
use crate::source::relative;

/// The configs of one run: the run's own (index 0) and the nearer ones found above its files.
pub struct Layers<'a> {
    base: &'a Settings,
    discover: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Configs nearer than the run's, in the order found (group `i + 1`).
    nested: Vec<Arc<Settings>>,
    /// Folder → the group governing it.
    by_dir: HashMap<PathBuf, usize>,
    /// The first config that could not be used.
    error: Option<Box<ConfigError>>,
}

impl<'a> Layers<'a> {
    /// `discover`: look for nearer configs (off with `--config` and `--isolated`).
    pub fn new(base: &'a Settings, discover: bool) -> Layers<'a> {
        Layers {
            base,
            discover,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The group (0 = the run's config) governing folder `dir`.
    fn group_of_dir(&self, dir: &Path) -> usize {
        if !self.discover {
            return 0;
        }
        let base_source = self.base.source.as_deref().map(absolute);
        let mut pending: Vec<PathBuf> = Vec::new();
        let mut current = Some(dir);
        let group = loop {
            let Some(d) = current else { break 0 };
            if let Some(&g) = self.lock().by_dir.get(d) {
                break g;
            }
            pending.push(d.to_path_buf());
            match config::config_in(d) {
                Ok(Some((path, text, manifest))) => {
                    if base_source.as_deref() == Some(path.as_path()) {
                        break 0;
                    }
                    match config::from_text(&path, &text, manifest, self.base.root.clone()) {
                        Ok(Some(settings)) => {
                            let mut state = self.lock();
                            state.nested.push(Arc::new(settings));
                            break state.nested.len();
                        }
                        Ok(None) => {}
                        Err(error) => {
                            self.lock().error.get_or_insert(error);
                            break 0;
                        }
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    self.lock().error.get_or_insert(error);
                    break 0;
                }
            }
            current = d.parent();
        };
        let mut state = self.lock();
        for d in pending {
            state.by_dir.insert(d, group);
        }
        group
    }

    /// The group governing a file given by its path relative to the root.
    pub fn group_of_file(&self, rel: &str) -> usize {
        let abs = absolute(&self.base.root.join(rel));
        match abs.parent() {
            Some(dir) => self.group_of_dir(dir),
            None => 0,
        }
    }

    fn settings(&self, group: usize) -> Option<Arc<Settings>> {
        match group {
            0 => None,
            g => self.lock().nested.get(g - 1).cloned(),
        }
    }

    fn with<R>(&self, group: usize, f: impl FnOnce(&Settings) -> R) -> R {
        match self.settings(group) {
            Some(s) => f(&s),
            None => f(self.base),
        }
    }

    /// Whether `path` (a file, or a folder named on the command line) is excluded: by the
    /// config governing it, or by any config above that one — as in ruff, a folder a parent
    /// config excludes stays excluded even when a config inside it says nothing about it.
    pub fn excluded(&self, path: &Path) -> bool {
        let dir = if path.is_dir() {
            Some(path)
        } else {
            path.parent()
        };
        let mut group = dir.map_or(0, |d| self.group_of_dir(d));
        loop {
            let (hit, config_dir) = self.with(group, |s| {
                let rel = relative(&s.config_dir, path);
                let hit = s.exclude.as_ref().is_some_and(|g| g.is_match(&*rel));
                (hit, s.config_dir.clone())
            });
            if hit {
                return true;
            }
            if group == 0 {
                return false;
            }
            // the config governing the folder that holds this one
            group = config_dir.parent().map_or(0, |d| self.group_of_dir(d));
        }
    }

    /// The severity of rule `id` in `group`, `None` when that config switches it off.
    pub fn severity_of(&self, group: usize, id: &str) -> Option<Severity> {
        self.with(group, |s| s.severity_of(id))
    }

    /// Whether some config of the run leaves rule `id` on.
    pub fn enabled_anywhere(&self, id: &str) -> bool {
        let groups = self.lock().nested.len() + 1;
        (0..groups).any(|g| self.severity_of(g, id).is_some())
    }

    /// How many groups there are (the run's config and the nearer ones found so far).
    pub fn groups(&self) -> usize {
        self.lock().nested.len() + 1
    }

    /// The exemptions every config of the run declares (their globs rebased onto the root).
    pub fn config_exemptions(&self) -> Vec<Exemption> {
        let mut out = self.base.exemptions.clone();
        for s in &self.lock().nested {
            out.extend(s.exemptions.iter().cloned());
        }
        out
    }

    /// The `[[contracts]]` every config of the run declares (paths relative to the root).
    pub fn contracts(&self) -> Vec<crate::contract::ContractEntry> {
        let mut out = self.base.contracts.clone();
        for s in &self.lock().nested {
            out.extend(s.contracts.iter().cloned());
        }
        out
    }

    /// The first nearer config that could not be used.
    pub fn take_error(&self) -> Option<Box<ConfigError>> {
        self.lock().error.take()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::rebase_glob;

    #[test]
    fn globs_are_rebased_from_their_config_onto_the_root() {
        let root = Path::new("/repo");
        // a config at the root: unchanged
        assert_eq!(rebase_glob("src/**", root, root), "src/**");
        // below the root: prefixed with its folder, escaped
        assert_eq!(
            rebase_glob("src/legacy/**", Path::new("/repo/services/a"), root),
            "services/a/src/legacy/**"
        );
        assert_eq!(
            rebase_glob("**", Path::new("/repo/svc[1]"), root),
            "svc[[]1[]]/**"
        );
        // above the root (`--root services/a`): the part inside the root is kept
        let inner = Path::new("/repo/services/a");
        assert_eq!(rebase_glob("services/a/src/**", root, inner), "src/**");
        assert_eq!(rebase_glob("**/gen/**", root, inner), "**/gen/**");
    }
}
