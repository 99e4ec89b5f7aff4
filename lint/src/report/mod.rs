//! Reporters: human (miette), JSON, SARIF 2.1.0, GitHub workflow commands.

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use crate::engine::Outcome;

/// Output formats of `idemgate check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Github,
}

/// Renders `outcome` in `format`. `color` applies to the human format only.
pub fn render(outcome: &Outcome, format: Format, color: bool) -> String {
    match format {
        Format::Human => human::render(outcome, color),
        Format::Json => json::render(outcome),
        Format::Sarif => sarif::render(outcome),
        Format::Github => github::render(outcome),
    }
}

/// Counts of findings by severity: (errors, warnings, infos).
pub fn counts(outcome: &Outcome) -> (usize, usize, usize) {
    use idemgate_rules::Severity::*;
    outcome
        .findings
        .iter()
        .fold((0, 0, 0), |(e, w, i), f| match f.severity {
            Error => (e + 1, w, i),
            Warning => (e, w + 1, i),
            Info => (e, w, i + 1),
        })
}
