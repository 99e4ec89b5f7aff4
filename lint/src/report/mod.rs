//! Reporters: human (miette), JSON, SARIF 2.1.0, GitHub workflow commands.

pub mod github;
pub mod human;
pub mod json;
pub mod routes;
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

/// A stable fingerprint per finding: a hash of the rule, the file and the finding's logical key
/// (or its message), numbered among identical ones. It does not include line numbers, so it
/// survives code moving within a file.
pub fn fingerprints(findings: &[idemgate_rules::Finding]) -> Vec<String> {
    let mut seen: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
    findings
        .iter()
        .map(|f| {
            let identity = if f.key.is_empty() { &f.message } else { &f.key };
            let base = fnv1a(&[
                f.rule.as_bytes(),
                f.location.file.as_bytes(),
                identity.as_bytes(),
            ]);
            let n = seen.entry(base).or_insert(0);
            *n += 1;
            format!("{:016x}", fnv1a(&[&base.to_le_bytes(), &n.to_le_bytes()]))
        })
        .collect()
}

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter().chain(std::iter::once(&0xff)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}
