//! The `idemgate` binary: `check`, `rules`, `explain`.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use idemgate_lint::report::{self, Format};
use idemgate_lint::{config, engine};
use idemgate_rules::{all_rules, find_rule, Severity};
use miette::{miette, Report};

/// Parsing allocates and frees millions of small syntax nodes; mimalloc serves them faster
/// than the system allocator (measured with `xtask bench-parse`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The CI gate for idempotency and retry discipline.
#[derive(Debug, Parser)]
#[command(name = "idemgate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan Rust sources and OpenAPI specs; exit 1 when a finding is at or above the fail level.
    Check(CheckCmd),
    /// List the rule catalog: id, name, default severity, summary.
    Rules,
    /// List every route the gate sees (method, full path, registration, handler) and how it
    /// is covered: `declared` (by `#[idempotent]` or a middleware), `missing`, `unresolved`.
    Routes(CheckArgs),
    /// Write a commented idemgate.toml with the defaults (and, with --baseline, the first
    /// baseline): adopting the gate in one command.
    Init(idemgate_lint::init::InitArgs),
    /// Regenerate the rule pages (docs/rules/<ID>.md) from the catalog; --check fails on drift.
    #[command(hide = true)]
    RuleDocs {
        /// The folder of the pages.
        #[arg(default_value = "docs/rules")]
        dir: PathBuf,
        /// Change nothing: exit 1 when a page differs from the catalog.
        #[arg(long)]
        check: bool,
    },
    /// Explain a rule: why it matters, a bad example and the fix.
    Explain {
        /// A rule id (e.g. RETRY001) or name (e.g. hand-rolled-retry), or `config` for every
        /// configuration key with its meaning and default.
        rule: String,
    },
}

#[derive(Debug, clap::Args)]
struct CheckCmd {
    #[command(flatten)]
    args: CheckArgs,
    #[command(flatten)]
    adoption: idemgate_lint::adoption::AdoptionArgs,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Files or folders to scan (default: the current folder).
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Use this config file instead of discovering idemgate.toml / Cargo.toml metadata.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Fail on findings at or above this severity (overrides the config): error, warning, info.
    #[arg(long)]
    fail_level: Option<String>,
    /// Report paths relative to this folder (default: the repository's top level, found by
    /// `.git`; outside a repository the config file's folder, else the current folder). Config
    /// globs stay relative to their own config's folder.
    #[arg(long)]
    root: Option<PathBuf>,
    /// Ignore configuration files: built-in defaults only.
    #[arg(long, conflicts_with = "config")]
    isolated: bool,
    /// Parser threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Also grammar-check the bodies of functions and impl blocks no rule looks at (about 3×
    /// slower; by default they are checked lexically only, and every other item is parsed).
    #[arg(long)]
    full_syntax: bool,
    /// Never colour the human output.
    #[arg(long)]
    no_color: bool,
    /// Also list the `.rs` files set aside as not compiled by any crate (or as tests).
    #[arg(long, short)]
    verbose: bool,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Report> {
    match cli.command {
        Command::Rules => {
            let mut out = String::new();
            for r in all_rules() {
                let m = r.meta();
                out.push_str(&format!(
                    "{:<9} {:<34} {:<8} {}\n",
                    m.id,
                    m.name,
                    m.default_severity.as_str(),
                    m.summary
                ));
            }
            print!("{out}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { rule } if rule.eq_ignore_ascii_case("config") => {
            print!("{}", idemgate_lint::config_docs::explain());
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { rule } => {
            let r = find_rule(&rule).ok_or_else(|| {
                miette!(
                    help = "`idemgate rules` lists the rule ids; `idemgate explain config` the configuration keys",
                    "unknown rule `{rule}`"
                )
            })?;
            print!("{}", idemgate_lint::rule_docs::explain(r.meta()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Init(args) => {
            let done = idemgate_lint::init::run(&args)?;
            eprintln!("idemgate: wrote {}", done.config.display());
            if let Some((file, n)) = done.baseline {
                let s = if n == 1 { "" } else { "s" };
                eprintln!("idemgate: wrote {} with {n} finding{s}: `idemgate check` now fails only on new findings", file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::RuleDocs { dir, check } => {
            use idemgate_lint::rule_docs;
            if check {
                let drift = rule_docs::check(&dir);
                for d in &drift {
                    eprintln!("idemgate: {d}");
                }
                if !drift.is_empty() {
                    eprintln!("idemgate: the rule pages differ from the catalog; regenerate them with `cargo run -p idemgate-lint --bin idemgate -- rule-docs {}`", dir.display());
                    return Ok(ExitCode::from(1));
                }
                return Ok(ExitCode::SUCCESS);
            }
            let n = rule_docs::write(&dir)
                .map_err(|e| miette!("cannot write the rule pages in {}: {e}", dir.display()))?;
            eprintln!("idemgate: {n} rule page(s) updated in {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(cmd) => check(cmd),
        Command::Routes(args) => routes(args),
    }
}

fn settings_for(args: &CheckArgs) -> Result<(Vec<PathBuf>, config::Settings), Report> {
    let paths = if args.paths.is_empty() {
        // `cargo idemgate` (cargo-idemgate) names the workspace root it found
        vec![std::env::var_os("IDEMGATE_DEFAULT_PATH")
            .map_or_else(|| PathBuf::from("."), PathBuf::from)]
    } else {
        args.paths.clone()
    };
    let root = args.root.as_deref().map(idemgate_lint::discover::absolute);
    let mut settings = if args.isolated {
        config::Settings::defaults(root.unwrap_or_else(config::current_dir))
    } else {
        config::load(args.config.as_deref(), &paths[0], root).map_err(|e| Report::new(*e))?
    };
    if let Some(level) = &args.fail_level {
        settings.fail_level = Severity::parse(level).ok_or_else(|| {
            miette!(
                help = "use one of: error, warning, info",
                "unknown fail level `{level}`"
            )
        })?;
    }
    if args.full_syntax {
        settings.full_syntax = true;
    }
    if let Some(t) = args.threads {
        settings.threads = t.max(1);
    }
    Ok((paths, settings))
}

fn write_out(args: &CheckArgs, text: &str) -> Result<(), Report> {
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| miette!("cannot write report to {}: {e}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a non-zero exit.
            let _ = stdout.write_all(text.as_bytes());
        }
    }
    Ok(())
}

/// Tells (on stderr) how many `.rs` files were set aside, and lists them with `--verbose`.
fn note_unreachable(args: &CheckArgs, outcome: &engine::Outcome) {
    let n = outcome.unreachable.len();
    if n == 0 {
        return;
    }
    let files = if n == 1 { "file" } else { "files" };
    if args.verbose {
        eprintln!("idemgate: {n} unreachable .rs {files} skipped (no crate compiles them, or Cargo tests/benches):");
        for f in &outcome.unreachable {
            eprintln!("  {f}");
        }
    } else {
        eprintln!("idemgate: {n} unreachable .rs {files} skipped (no crate compiles them, or Cargo tests/benches; --verbose lists them)");
    }
}

fn routes(args: CheckArgs) -> Result<ExitCode, Report> {
    let (paths, settings) = settings_for(&args)?;
    let outcome = engine::check(&paths, &settings)?;
    note_unreachable(&args, &outcome);
    let text = report::routes::render(&outcome, args.format);
    write_out(&args, &text)?;
    Ok(ExitCode::SUCCESS)
}

fn check(cmd: CheckCmd) -> Result<ExitCode, Report> {
    let args = cmd.args;
    let (paths, settings) = settings_for(&args)?;
    let mut outcome = engine::check(&paths, &settings)?;
    note_unreachable(&args, &outcome);
    use idemgate_lint::adoption::{apply, Step};
    if let Step::Wrote { .. } = apply(&cmd.adoption, &settings, &mut outcome)? {
        return Ok(ExitCode::SUCCESS);
    }
    let color = !args.no_color
        && args.output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let text = report::render(&outcome, args.format, color);
    write_out(&args, &text)?;
    if args.format != Format::Human && args.output.is_some() {
        let (e, w, i) = report::counts(&outcome);
        let n =
            |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
        eprintln!(
            "idemgate: {}, {}, {} in {}",
            n(e, "error", "errors"),
            n(w, "warning", "warnings"),
            n(i, "note", "notes"),
            n(outcome.files_scanned, "file", "files")
        );
    }
    let failing = outcome
        .findings
        .iter()
        .any(|f| f.severity >= settings.fail_level);
    Ok(if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
