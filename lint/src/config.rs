//! Configuration: `idemgate.toml` (or `.idemgate.toml`) found by walking up from the first
//! path, else `[workspace.metadata.idemgate]` / `[package.metadata.idemgate]` in the nearest
//! `Cargo.toml`, else defaults. `--config FILE` overrides discovery. Unknown keys and bad values
//! are errors that point at their place in the file.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use globset::{Glob, GlobSet, GlobSetBuilder};
use idemgate_rules::context::PolicyLimits;
use idemgate_rules::model::{Exemption, ExemptionOrigin, ExemptionScope};
use idemgate_rules::{find_rule, Context, LineIndex, Severity};
use miette::{NamedSource, SourceSpan};
use serde::Deserialize;
use toml::Spanned;

/// A configuration file that cannot be used, with the place in it that is wrong.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
#[diagnostic(code(idemgate::config))]
pub struct ConfigError {
    pub message: String,
    #[source_code]
    pub src: NamedSource<String>,
    #[label("{label}")]
    pub span: Option<SourceSpan>,
    pub label: String,
    #[help]
    pub help: Option<String>,
}

/// Settings of the OpenAPI front-end.
#[derive(Debug, Clone)]
pub struct OpenApiSettings {
    /// Relative `$ref`s may not leave this folder.
    pub root: PathBuf,
    /// Files matching these globs are scanned as OpenAPI without sniffing.
    pub paths: Option<GlobSet>,
    pub max_file_size: u64,
    /// Deepest nesting of a document before it is refused.
    pub max_depth: usize,
    /// Most nodes an alias expansion may produce (billion-laughs guard).
    pub max_alias_nodes: usize,
    /// Request-body properties (and 2.0 `formData` parameters) that carry an idempotency key.
    pub key_fields: Vec<String>,
}

/// The body key fields recognised without configuration (`[openapi] key-fields`).
pub fn default_key_fields() -> Vec<String> {
    ["idempotency_key", "idempotencyKey", "IdempotencyKey"]
        .map(String::from)
        .to_vec()
}

/// Everything one run needs, resolved from the config file and the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Reports show paths relative to this folder.
    pub root: PathBuf,
    pub context: Context,
    /// Configured severities by rule id; `None` = off. Rules not named keep their default.
    pub severities: HashMap<&'static str, Option<Severity>>,
    /// Findings at or above this severity fail the run (exit 1).
    pub fail_level: Severity,
    pub exemptions: Vec<Exemption>,
    pub exclude: Option<GlobSet>,
    pub max_file_size: u64,
    pub threads: usize,
    /// Also parse the bodies of functions and impl blocks that cannot matter to any rule, so a
    /// grammar error anywhere is reported. By default every other item is parsed, and those
    /// bodies are checked lexically (strings, comments, brackets, nesting) only: they are most
    /// of a crate's bytes, and `rustc` reports their grammar errors anyway.
    pub full_syntax: bool,
    /// Also judge Cargo `tests/` and `benches/` folders (test harnesses, not production).
    pub include_tests: bool,
    /// Name-resolution steps allowed per crate before GATE003.
    pub analysis_budget: u64,
    /// The baseline file of the run (`baseline = "…"`, relative to the config file's folder):
    /// findings it lists are accepted (see [`crate::baseline`]).
    pub baseline: Option<PathBuf>,
    pub openapi: OpenApiSettings,
    /// The file the settings came from, if any.
    pub source: Option<PathBuf>,
    /// `[[contracts]]`: specs paired with the code that serves them (SPEC rules).
    pub contracts: Vec<crate::contract::ContractEntry>,
    /// The folder of that file (the root when there is none): `exclude` and `[openapi] paths`
    /// globs are relative to it, and its exemption globs were rebased from it onto `root`.
    pub config_dir: PathBuf,
    /// Check each file under the config nearest to it (closest config wins); off with an
    /// explicit `--config` and with `--isolated`.
    pub nested_configs: bool,
}

const DEFAULT_MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// The cores this process may use, read once: the answer comes from cgroup files, and every
/// nested config of a monorepo starts from the defaults.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

/// Where a config error sends the reader: the list of every key.
pub const CONFIG_KEYS_HELP: &str =
    "`idemgate explain config` lists every key with its meaning and default";

impl Settings {
    pub fn defaults(root: PathBuf) -> Settings {
        Settings {
            context: Context::default(),
            severities: HashMap::new(),
            fail_level: Severity::Error,
            exemptions: Vec::new(),
            exclude: None,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            threads: cores(),
            full_syntax: false,
            include_tests: false,
            analysis_budget: crate::rust::DEFAULT_ANALYSIS_BUDGET,
            baseline: None,
            openapi: OpenApiSettings {
                root: root.clone(),
                paths: None,
                max_file_size: DEFAULT_MAX_FILE_SIZE,
                max_depth: 256,
                max_alias_nodes: 250_000,
                key_fields: default_key_fields(),
            },
            config_dir: root.clone(),
            nested_configs: false,
            root,
            source: None,
            contracts: Vec::new(),
        }
    }

    /// The effective severity of a rule, `None` when it is switched off.
    pub fn severity_of(&self, id: &str) -> Option<Severity> {
        match self.severities.get(id) {
            Some(s) => *s,
            None => find_rule(id).map(|r| r.meta().default_severity),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    #[serde(alias = "fail_level")]
    fail_level: Option<Spanned<String>>,
    #[serde(alias = "side_effect_methods")]
    side_effect_methods: Option<Vec<Spanned<String>>>,
    #[serde(alias = "strict_methods")]
    strict_methods: Option<bool>,
    #[serde(alias = "guarded_paths")]
    guarded_paths: Option<Vec<Spanned<String>>>,
    #[serde(alias = "idempotency_layers")]
    idempotency_layers: Option<Vec<String>>,
    exclude: Option<Vec<Spanned<String>>>,
    #[serde(alias = "max_file_size")]
    max_file_size: Option<Spanned<u64>>,
    threads: Option<Spanned<usize>>,
    #[serde(alias = "full_syntax")]
    full_syntax: Option<bool>,
    #[serde(alias = "include_tests")]
    include_tests: Option<bool>,
    #[serde(alias = "analysis_budget")]
    analysis_budget: Option<Spanned<u64>>,
    baseline: Option<Spanned<String>>,
    #[serde(default)]
    rules: HashMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    openapi: OpenApiFile,
    #[serde(default)]
    exemptions: Vec<Spanned<ExemptionFile>>,
    #[serde(default)]
    contracts: Vec<Spanned<ContractFile>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct LimitsFile {
    #[serde(alias = "max_attempts")]
    max_attempts: Option<Spanned<u64>>,
    cap: Option<Spanned<String>>,
    #[serde(alias = "max_elapsed")]
    max_elapsed: Option<Spanned<String>>,
    #[serde(alias = "require_budget")]
    require_budget: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct OpenApiFile {
    paths: Option<Vec<Spanned<String>>>,
    #[serde(alias = "accepted_key_headers")]
    accepted_key_headers: Option<Vec<String>>,
    #[serde(alias = "max_depth")]
    max_depth: Option<Spanned<usize>>,
    #[serde(alias = "max_file_size")]
    max_file_size: Option<Spanned<u64>>,
    #[serde(alias = "max_alias_nodes")]
    max_alias_nodes: Option<Spanned<usize>>,
    #[serde(alias = "key_fields")]
    key_fields: Option<Spanned<Vec<String>>>,
}

/// `[[contracts]]`: `spec = "api/openapi.yaml"`, `code = ["crates/api"]`, `base-path = "/v1"`;
/// paths relative to the config file's folder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ContractFile {
    spec: Spanned<String>,
    code: Spanned<Vec<Spanned<String>>>,
    #[serde(alias = "base_path")]
    base_path: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExemptionFile {
    rule: Spanned<String>,
    path: Option<Spanned<String>>,
    /// A finding key (function path, operation id) glob.
    key: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CargoManifest {
    workspace: Option<MetadataHolder>,
    package: Option<MetadataHolder>,
}

#[derive(Debug, Deserialize)]
struct MetadataHolder {
    metadata: Option<Metadata>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    idemgate: Option<ConfigFile>,
}

/// Finds the configuration for a scan of `start` (walks up), or reads `explicit`.
///
/// Reports show paths relative to `root` when it is given; otherwise relative to the
/// repository (the git top level above `start`), so that CI annotations and SARIF land on the
/// right file wherever the gate is started; outside a repository, relative to the folder of the
/// config file, or to the current folder when there is none. Globs in a config (`exclude`,
/// exemption paths) are relative to that config's own folder.
///
/// This is the run's config; files nearer to another config are checked under that one (see
/// [`crate::nearest`]).
pub fn load(
    explicit: Option<&Path>,
    start: &Path,
    root: Option<PathBuf>,
) -> Result<Settings, Box<ConfigError>> {
    let root = root.or_else(|| crate::discover::repo_root(start));
    let root_for = |config: &Path| {
        root.clone().unwrap_or_else(|| {
            crate::discover::absolute(config)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        })
    };
    if let Some(path) = explicit {
        let text = read(path)?;
        let is_manifest = path.file_name().is_some_and(|n| n == "Cargo.toml");
        return from_text(path, &text, is_manifest, root_for(path))
            .map(|s| s.unwrap_or_else(|| Settings::defaults_from(path, root_for(path))));
    }
    let start = crate::discover::absolute(start);
    let mut dir = if start.is_dir() {
        Some(start.as_path())
    } else {
        start.parent()
    };
    while let Some(d) = dir {
        if let Some((path, text, manifest)) = config_in(d)? {
            if let Some(mut s) = from_text(&path, &text, manifest, root_for(&path))? {
                s.nested_configs = true;
                return Ok(s);
            }
        }
        dir = d.parent();
    }
    let mut s = Settings::defaults(root.unwrap_or_else(current_dir));
    s.nested_configs = true;
    Ok(s)
}

/// The config file that folder `dir` holds, with its text and whether it is a `Cargo.toml`:
/// `idemgate.toml`, else `.idemgate.toml`, else a `Cargo.toml` that has
/// `[workspace.metadata.idemgate]` or `[package.metadata.idemgate]`.
pub fn config_in(dir: &Path) -> Result<Option<(PathBuf, String, bool)>, Box<ConfigError>> {
    for name in ["idemgate.toml", ".idemgate.toml"] {
        let candidate = dir.join(name);
        if candidate.is_file() {
            let text = read(&candidate)?;
            return Ok(Some((candidate, text, false)));
        }
    }
    let manifest = dir.join("Cargo.toml");
    if manifest.is_file() {
        let text = read(&manifest)?;
        // most manifests say nothing about idemgate: no need to parse them
        if text.contains("idemgate") && has_metadata(&text) {
            return Ok(Some((manifest, text, true)));
        }
    }
    Ok(None)
}

/// Whether a `Cargo.toml` holds an idemgate metadata table (a manifest that does not parse is
/// left to [`from_text`] to report).
fn has_metadata(text: &str) -> bool {
    #[derive(Deserialize)]
    struct Manifest {
        workspace: Option<Holder>,
        package: Option<Holder>,
    }
    #[derive(Deserialize)]
    struct Holder {
        metadata: Option<toml::Table>,
    }
    match toml::from_str::<Manifest>(text) {
        Ok(m) => [m.workspace, m.package]
            .into_iter()
            .flatten()
            .any(|h| h.metadata.is_some_and(|t| t.contains_key("idemgate"))),
        Err(_) => true,
    }
}

/// The current folder (`.` when it cannot be read).
pub fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

impl Settings {
    fn defaults_from(path: &Path, root: PathBuf) -> Settings {
        let mut s = Settings::defaults(root);
        s.source = Some(path.to_path_buf());
        s.config_dir = config_dir_of(path);
        s
    }
}

fn read(path: &Path) -> Result<String, Box<ConfigError>> {
    std::fs::read_to_string(path).map_err(|e| {
        Box::new(ConfigError {
            message: format!("cannot read config file {}: {e}", path.display()),
            src: NamedSource::new(path.display().to_string(), String::new()),
            span: None,
            label: String::new(),
            help: None,
        })
    })
}

/// Parses config text. For a `Cargo.toml`, `Ok(None)` when it has no idemgate metadata.
pub fn from_text(
    path: &Path,
    text: &str,
    is_manifest: bool,
    root: PathBuf,
) -> Result<Option<Settings>, Box<ConfigError>> {
    let fail = |message: String, span: Option<Range<usize>>, label: &str, help: Option<String>| {
        Box::new(ConfigError {
            message,
            src: NamedSource::new(path.display().to_string(), text.to_string()),
            span: span.map(|r| SourceSpan::from(r.start..r.end.max(r.start))),
            label: label.to_string(),
            help,
        })
    };
    let file: ConfigFile = if is_manifest {
        let manifest: CargoManifest = toml::from_str(text).map_err(|e| {
            fail(
                format!("invalid Cargo.toml: {}", e.message()),
                e.span(),
                "here",
                Some(CONFIG_KEYS_HELP.into()),
            )
        })?;
        let from_ws = manifest
            .workspace
            .and_then(|w| w.metadata)
            .and_then(|m| m.idemgate);
        let from_pkg = manifest
            .package
            .and_then(|p| p.metadata)
            .and_then(|m| m.idemgate);
        match from_ws.or(from_pkg) {
            Some(f) => f,
            None => return Ok(None),
        }
    } else {
        toml::from_str(text).map_err(|e| {
            fail(
                format!("invalid idemgate config: {}", e.message()),
                e.span(),
                "here",
                Some(CONFIG_KEYS_HELP.into()),
            )
        })?
    };

    let mut s = Settings::defaults(root);
    s.source = Some(path.to_path_buf());
    s.config_dir = config_dir_of(path);
    let file_name: Arc<str> =
        Arc::from(crate::source::relative(&s.root, &crate::discover::absolute(path)).as_ref());
    let index = LineIndex::new(text);
    let loc = |span: Range<usize>| index.location(&file_name, text, span.start, span.end);

    if let Some(level) = file.fail_level {
        s.fail_level = Severity::parse(level.get_ref()).ok_or_else(|| {
            fail(
                format!("unknown fail level `{}`", level.get_ref()),
                Some(level.span()),
                "not a severity",
                Some("use one of: error, warning, info".into()),
            )
        })?;
    }
    if let Some(strict) = file.strict_methods {
        s.context.strict_methods = strict;
    }
    if let Some(methods) = file.side_effect_methods {
        let mut out = Vec::new();
        for m in methods {
            let upper = m.get_ref().to_ascii_uppercase();
            if upper.is_empty() || !upper.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(fail(
                    format!("`{}` is not an HTTP method", m.get_ref()),
                    Some(m.span()),
                    "not a method",
                    None,
                ));
            }
            out.push(upper);
        }
        s.context.side_effect_methods = out;
    }
    if let Some(globs) = file.guarded_paths {
        s.context.guarded_paths = Some(globset(&globs, &fail)?);
    }
    if let Some(layers) = file.idempotency_layers {
        s.context.idempotency_layers.extend(layers);
    }
    if let Some(globs) = file.exclude {
        s.exclude = Some(globset(&globs, &fail)?);
    }
    if let Some(n) = file.max_file_size {
        s.max_file_size = *n.get_ref();
        s.openapi.max_file_size = *n.get_ref();
    }
    if let Some(n) = file.threads {
        if *n.get_ref() == 0 {
            return Err(fail(
                "threads must be at least 1".into(),
                Some(n.span()),
                "zero",
                None,
            ));
        }
        s.threads = *n.get_ref();
    }
    if let Some(full) = file.full_syntax {
        s.full_syntax = full;
    }
    if let Some(t) = file.include_tests {
        s.include_tests = t;
    }
    if let Some(b) = file.baseline {
        if b.get_ref().trim().is_empty() {
            return Err(fail(
                "baseline must name a file".into(),
                Some(b.span()),
                "empty",
                None,
            ));
        }
        let dir = crate::discover::absolute(path)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        s.baseline = Some(dir.join(b.get_ref()));
    }
    if let Some(b) = file.analysis_budget {
        if *b.get_ref() == 0 {
            return Err(fail(
                "analysis-budget must be at least 1".into(),
                Some(b.span()),
                "zero",
                None,
            ));
        }
        s.analysis_budget = *b.get_ref();
    }
    for (id, sev) in &file.rules {
        let rule = find_rule(id.get_ref()).ok_or_else(|| {
            fail(
                format!("unknown rule `{}`", id.get_ref()),
                Some(id.span()),
                "no such rule",
                Some("`idemgate rules` lists the rule ids".into()),
            )
        })?;
        let value = if sev.get_ref() == "off" {
            None
        } else {
            Some(Severity::parse(sev.get_ref()).ok_or_else(|| {
                fail(
                    format!(
                        "unknown severity `{}` for {}",
                        sev.get_ref(),
                        rule.meta().id
                    ),
                    Some(sev.span()),
                    "not a severity",
                    Some("use one of: error, warning, info, off".into()),
                )
            })?)
        };
        s.severities.insert(rule.meta().id, value);
    }
    let limits = &mut s.context.limits;
    apply_limits(file.limits, limits, &fail)?;
    if let Some(paths) = file.openapi.paths {
        s.openapi.paths = Some(globset(&paths, &fail)?);
    }
    if let Some(h) = file.openapi.accepted_key_headers {
        s.context.accepted_key_headers = h;
    }
    if let Some(d) = file.openapi.max_depth {
        s.openapi.max_depth = *d.get_ref();
    }
    if let Some(n) = file.openapi.max_alias_nodes {
        s.openapi.max_alias_nodes = *n.get_ref();
    }
    if let Some(n) = file.openapi.max_file_size {
        s.openapi.max_file_size = *n.get_ref();
    }
    if let Some(fields) = file.openapi.key_fields {
        let span = fields.span();
        let fields = fields.into_inner();
        if fields.is_empty() || fields.iter().any(|f| f.trim().is_empty()) {
            return Err(fail(
                "`key-fields` must list at least one non-empty property name".into(),
                Some(span),
                "empty",
                Some("e.g. key-fields = [\"idempotency_key\", \"request_id\"]".into()),
            ));
        }
        s.openapi.key_fields = fields.into_iter().map(|f| f.trim().to_string()).collect();
    }
    for entry in file.exemptions {
        let span = entry.span();
        let e = entry.into_inner();
        let rule = find_rule(e.rule.get_ref()).ok_or_else(|| {
            fail(
                format!("exemption names unknown rule `{}`", e.rule.get_ref()),
                Some(e.rule.span()),
                "no such rule",
                Some("`idemgate rules` lists the rule ids".into()),
            )
        })?;
        let pattern = match &e.path {
            Some(p) => {
                if Glob::new(p.get_ref()).is_err() {
                    return Err(fail(
                        format!("invalid glob `{}`", p.get_ref()),
                        Some(p.span()),
                        "bad glob",
                        None,
                    ));
                }
                p.get_ref().clone()
            }
            None => "**".to_string(),
        };
        s.exemptions.push(Exemption {
            rule: rule.meta().id.to_string(),
            reason: e.reason,
            origin: ExemptionOrigin::Config,
            location: loc(span),
            scope: ExemptionScope::Glob {
                pattern: rebase_glob(&pattern, &s.config_dir, &s.root),
                key: e.key,
            },
            report_unused: true,
        });
    }
    // contract paths are relative to the config file's folder; reports to the root
    let contract_dir = crate::discover::absolute(path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let contract_root = crate::discover::absolute(&s.root);
    for entry in file.contracts {
        let span = entry.span();
        let c = entry.into_inner();
        let existing = |p: &Spanned<String>, what: &str| {
            let abs = crate::discover::absolute(&contract_dir.join(p.get_ref()));
            if abs.exists() {
                Ok(crate::source::relative(&contract_root, &abs).to_string())
            } else {
                Err(fail(
                    format!("contract {what} `{}` does not exist", p.get_ref()),
                    Some(p.span()),
                    "no such file or folder",
                    Some("contract paths are relative to the folder of this config file".into()),
                ))
            }
        };
        let spec = existing(&c.spec, "spec")?;
        if c.code.get_ref().is_empty() {
            return Err(fail(
                "a contract needs at least one `code` folder".into(),
                Some(c.code.span()),
                "empty",
                Some("e.g. code = [\"crates/api\"]".into()),
            ));
        }
        let mut code = Vec::new();
        for p in c.code.get_ref() {
            code.push(existing(p, "code folder")?);
        }
        let base_path = match c.base_path {
            Some(b) if !b.get_ref().starts_with('/') => {
                return Err(fail(
                    format!("`base-path` `{}` must start with `/`", b.get_ref()),
                    Some(b.span()),
                    "not an absolute path",
                    Some(
                        "e.g. base-path = \"/v1\" (or \"/\" to ignore the spec's servers prefix)"
                            .into(),
                    ),
                ));
            }
            Some(b) => Some(crate::contract::template::normalize(b.get_ref())),
            None => None,
        };
        s.contracts.push(crate::contract::ContractEntry {
            spec: Arc::from(spec),
            code,
            base_path,
            location: loc(span),
        });
    }
    Ok(Some(s))
}

/// The absolute folder of a config file.
fn config_dir_of(path: &Path) -> PathBuf {
    crate::discover::absolute(path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A path glob written relative to `dir` (a config's folder), rewritten relative to `root`
/// (what findings' paths are relative to): `src/legacy/**` in `services/a/idemgate.toml` is
/// `services/a/src/legacy/**`. A config above the root keeps the patterns that reach into it
/// (`services/a/**` with `--root services/a` is `**`).
pub fn rebase_glob(pattern: &str, dir: &Path, root: &Path) -> String {
    if dir == root {
        return pattern.to_string();
    }
    if let Ok(below) = dir.strip_prefix(root) {
        let prefix: Vec<String> = below
            .components()
            .map(|c| globset::escape(&c.as_os_str().to_string_lossy()))
            .collect();
        return format!("{}/{pattern}", prefix.join("/"));
    }
    if let Ok(above) = root.strip_prefix(dir) {
        let offset: Vec<String> = above
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let offset = format!("{}/", offset.join("/"));
        if let Some(rest) = pattern.strip_prefix(&offset) {
            return rest.to_string();
        }
    }
    pattern.to_string()
}

type Fail<'a> = dyn Fn(String, Option<Range<usize>>, &str, Option<String>) -> Box<ConfigError> + 'a;

fn globset(globs: &[Spanned<String>], fail: &Fail<'_>) -> Result<GlobSet, Box<ConfigError>> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        let glob = Glob::new(g.get_ref()).map_err(|e| {
            fail(
                format!("invalid glob `{}`: {e}", g.get_ref()),
                Some(g.span()),
                "bad glob",
                None,
            )
        })?;
        b.add(glob);
    }
    b.build()
        .map_err(|e| fail(format!("invalid globs: {e}"), None, "", None))
}

fn apply_limits(
    file: LimitsFile,
    limits: &mut PolicyLimits,
    fail: &Fail<'_>,
) -> Result<(), Box<ConfigError>> {
    if let Some(n) = file.max_attempts {
        if *n.get_ref() == 0 {
            return Err(fail(
                "max-attempts must be at least 1".into(),
                Some(n.span()),
                "zero",
                None,
            ));
        }
        limits.max_attempts = *n.get_ref();
    }
    let duration = |d: &Spanned<String>| {
        idemgate_rules::duration::parse_millis(d.get_ref()).ok_or_else(|| {
            fail(
                format!("`{}` is not a duration", d.get_ref()),
                Some(d.span()),
                "not a duration",
                Some("write a number with a unit: 200ms, 5s, 2m, 1h".into()),
            )
        })
    };
    if let Some(d) = &file.cap {
        limits.cap_ms = duration(d)?;
    }
    if let Some(d) = &file.max_elapsed {
        limits.max_elapsed_ms = duration(d)?;
    }
    if let Some(b) = file.require_budget {
        limits.require_budget = b;
    }
    Ok(())
}
