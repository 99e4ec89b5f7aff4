//! The adoption options of `idemgate check`: a baseline of accepted findings and the pre-merge
//! diff mode. Applied to a finished scan, before the report: first the baseline (over every
//! finding, so stale entries are known), then `--changed-since`.

use std::path::{Path, PathBuf};

use crate::baseline::{Applied, Baseline, BaselineError};
use crate::changed::{self, ChangedError};
use crate::config::Settings;
use crate::engine::Outcome;

/// The command-line options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AdoptionArgs {
    /// Record every current finding in this baseline file and exit 0 (adopting the gate on a
    /// codebase with legacy findings).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["baseline", "prune_baseline", "changed_since"])]
    pub write_baseline: Option<PathBuf>,
    /// Fail only on findings this baseline does not list, and report its stale entries
    /// (default: the config's `baseline`).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Ignore the config's `baseline`: report every finding.
    #[arg(long, conflicts_with_all = ["baseline", "prune_baseline"])]
    pub no_baseline: bool,
    /// Rewrite the baseline without the entries that match nothing any more.
    #[arg(long)]
    pub prune_baseline: bool,
    /// Report only findings in files changed since REV (`git diff REV...` plus uncommitted and
    /// untracked files); in OpenAPI documents, only in operations whose lines changed.
    #[arg(long, value_name = "REV")]
    pub changed_since: Option<String>,
}

/// Why the adoption options could not be applied.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AdoptionError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Baseline(#[from] BaselineError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Changed(#[from] ChangedError),
    #[error(
        "--prune-baseline needs a baseline (`--baseline FILE` or `baseline = \"…\"` in the config)"
    )]
    #[diagnostic(code(idemgate::baseline))]
    NothingToPrune,
}

/// What happened, for the caller to tell.
#[derive(Debug)]
pub enum Step {
    /// `--write-baseline`: the file and how many findings it holds. The run is done (exit 0).
    Wrote { path: PathBuf, findings: usize },
    /// The outcome now holds only the findings to report.
    Filtered,
}

/// Applies the options to `outcome` (its findings are replaced by the ones to report); notes
/// go to standard error.
pub fn apply(
    args: &AdoptionArgs,
    settings: &Settings,
    outcome: &mut Outcome,
) -> Result<Step, AdoptionError> {
    if let Some(path) = &args.write_baseline {
        let base = Baseline::from_findings(&outcome.findings);
        base.write(path)?;
        eprintln!(
            "idemgate: wrote {} with {} ({} {})",
            path.display(),
            plural(base.len(), "finding", "findings"),
            base.entries.len(),
            if base.entries.len() == 1 {
                "entry"
            } else {
                "entries"
            }
        );
        return Ok(Step::Wrote {
            path: path.clone(),
            findings: base.len(),
        });
    }
    let baseline_path = if args.no_baseline {
        None
    } else {
        args.baseline.clone().or_else(|| settings.baseline.clone())
    };
    match &baseline_path {
        Some(path) => {
            let base = Baseline::read(path)?;
            let findings = std::mem::take(&mut outcome.findings);
            let applied = base.apply(findings);
            note(path, &applied, args.prune_baseline);
            if args.prune_baseline && !applied.stale.is_empty() {
                applied.pruned.write(path)?;
            }
            outcome.findings = applied.new;
        }
        None if args.prune_baseline => return Err(AdoptionError::NothingToPrune),
        None => {}
    }
    if let Some(rev) = &args.changed_since {
        let changes = changed::since(rev, &outcome.root)?;
        let before = outcome.findings.len();
        let findings = std::mem::take(&mut outcome.findings);
        outcome.findings = changed::filter(findings, &changes, &outcome.root);
        let hidden = before - outcome.findings.len();
        if hidden > 0 {
            eprintln!(
                "idemgate: {} outside the changes since {rev} not reported",
                plural(hidden, "finding", "findings")
            );
        }
    }
    Ok(Step::Filtered)
}

fn note(path: &Path, applied: &Applied, pruned: bool) {
    if applied.baselined > 0 {
        eprintln!(
            "idemgate: {} in the baseline {} not reported",
            plural(applied.baselined, "finding", "findings"),
            path.display()
        );
    }
    if applied.stale.is_empty() {
        return;
    }
    let n: usize = applied.stale.iter().map(|e| e.count as usize).sum();
    if pruned {
        eprintln!(
            "idemgate: pruned {} that no longer match from {}:",
            plural(n, "stale entry", "stale entries"),
            path.display()
        );
    } else {
        eprintln!(
            "idemgate: {} of {} no longer match any finding (fixed? `--prune-baseline` removes them):",
            plural(n, "entry", "entries"),
            path.display()
        );
    }
    for e in &applied.stale {
        let times = if e.count > 1 {
            format!(" (×{})", e.count)
        } else {
            String::new()
        };
        eprintln!("  stale: {} {} {}{times}", e.rule, e.file, e.key);
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
