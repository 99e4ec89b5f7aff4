//! `idemgate init`: adoption in one command. Writes a commented `idemgate.toml` that lists
//! every setting at its default (commented out, so the file changes nothing until edited)
//! and, with `--baseline`, records today's findings as the first baseline and names it in the
//! config, so the next `idemgate check` passes and fails only on new findings.

use std::path::{Path, PathBuf};

use crate::baseline::{Baseline, BaselineError};
use crate::config::{self, ConfigError};
use crate::discover::DiscoverError;
use crate::engine;

/// The baseline file `init --baseline` writes when given no name.
pub const DEFAULT_BASELINE: &str = "idemgate-baseline.json";

/// The options of `idemgate init`.
#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    /// The folder to set up (default: the current folder): the root of the repository or the
    /// workspace.
    pub dir: Option<PathBuf>,
    /// Also record every current finding as the first baseline (default file:
    /// idemgate-baseline.json) and name it in the config.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = DEFAULT_BASELINE)]
    pub baseline: Option<String>,
    /// Overwrite an existing idemgate.toml.
    #[arg(long)]
    pub force: bool,
}

/// Why `init` stopped.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum InitError {
    #[error("{} already exists", path.display())]
    #[diagnostic(
        code(idemgate::init),
        help("edit it, or pass --force to replace it with the commented defaults")
    )]
    Exists { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    #[diagnostic(code(idemgate::init))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the baseline must be a relative path inside the folder, not `{0}`")]
    #[diagnostic(code(idemgate::init))]
    BaselinePath(String),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] Box<ConfigError>),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Discover(#[from] DiscoverError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Baseline(#[from] BaselineError),
}

/// What `init` wrote.
#[derive(Debug)]
pub struct Initialized {
    pub config: PathBuf,
    /// The baseline file and how many findings it holds.
    pub baseline: Option<(PathBuf, usize)>,
}

/// The commented configuration: every key at its default. `baseline` is set when given.
pub fn template(baseline: Option<&str>) -> String {
    let baseline_line = match baseline {
        Some(b) => format!(
            "# Findings accepted when the gate was adopted: `idemgate check` fails only on findings\n# not listed there, and names entries that match nothing any more (`--prune-baseline`\n# drops them). Rewrite with `idemgate check --write-baseline {b}`.\nbaseline = {}\n",
            toml_string(b)
        ),
        None => "# Findings accepted when the gate was adopted (`idemgate check --write-baseline FILE`):\n# only findings not listed there fail.\n# baseline = \"idemgate-baseline.json\"\n".to_string(),
    };
    format!(
        r#"# idemgate configuration: https://github.com/idemgate/idemgate#configuration
# Every setting is shown at its default, commented out; uncomment to change one.
# `idemgate rules` lists the rules, `idemgate explain ID` explains one.

{baseline_line}
# Findings at or above this severity fail the run (exit 1): error, warning, info.
# fail-level = "error"

# HTTP methods whose routes and operations must declare an idempotency strategy.
# side-effect-methods = ["POST", "PATCH"]

# Also report, at the rule's severity, POST/PATCH handlers that only read (by default an
# info-level note: "no side effect found").
# strict-methods = false

# Route path globs that form the guarded surface (default: every route).
# guarded-paths = ["/v1/**"]

# Middleware types that make a whole router idempotent (besides any `Idempotency…` type).
# idempotency-layers = ["IdempotencyLayer"]

# Files and folders not to scan (globs relative to this file; .gitignore is honoured).
# exclude = ["fixtures/**"]

# Also judge Cargo tests/ and benches/ (test harnesses, not production code).
# include-tests = false

# Also grammar-check function bodies no rule reads (about 3x slower).
# full-syntax = false

# Largest file read, in bytes.
# max-file-size = 67108864

# Name-resolution steps allowed per crate before GATE003.
# analysis-budget = 5000000

# Parser threads (default: all cores).
# threads = 4

# Rule severities: error, warning, info, or off.
[rules]
# RETRY002 = "error"
# GATE002 = "off"

# Governed retry-policy limits (RETRY007).
[limits]
# max-attempts = 5
# cap = "30s"
# max-elapsed = "60s"
# require-budget = true

[openapi]
# Files always treated as OpenAPI (others are recognised by their content).
# paths = ["specs/**/*.yaml"]
# Idempotency headers accepted as standard besides Idempotency-Key (OAS002).
# accepted-key-headers = []
# Request-body properties that carry the key.
# key-fields = ["idempotency_key", "idempotencyKey", "IdempotencyKey"]
# max-depth = 256
# max-file-size = 67108864
# max-alias-nodes = 250000

# A spec paired with the code that serves it (SPEC001-SPEC003).
# [[contracts]]
# spec = "api/openapi.yaml"
# code = ["crates/api"]
# base-path = "/v1"

# An exemption needs a reason; one that hides nothing is reported (IDEM004).
# [[exemptions]]
# rule = "RETRY001"
# path = "src/legacy/**"
# key = "legacy::*"
# reason = "replaced by the outbox in Q3"
"#
    )
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Writes the config (and the first baseline) into `args.dir`.
pub fn run(args: &InitArgs) -> Result<Initialized, InitError> {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let path = dir.join("idemgate.toml");
    if path.exists() && !args.force {
        return Err(InitError::Exists { path });
    }
    if let Some(b) = &args.baseline {
        let p = Path::new(b);
        if b.trim().is_empty()
            || p.is_absolute()
            || p.components().any(|c| c == std::path::Component::ParentDir)
        {
            return Err(InitError::BaselinePath(b.clone()));
        }
    }
    let write = |p: &Path, text: &str| {
        std::fs::write(p, text).map_err(|source| InitError::Write {
            path: p.to_path_buf(),
            source,
        })
    };
    write(&path, &template(args.baseline.as_deref()))?;
    let mut out = Initialized {
        config: path.clone(),
        baseline: None,
    };
    if let Some(b) = &args.baseline {
        let settings = config::load(Some(&path), &dir, None)?;
        let outcome = engine::check(std::slice::from_ref(&dir), &settings)?;
        let base = Baseline::from_findings(&outcome.findings);
        let file = dir.join(b);
        base.write(&file)?;
        out.baseline = Some((file, base.len()));
    }
    Ok(out)
}
