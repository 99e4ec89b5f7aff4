//! Applying exemptions to findings, and reporting exemptions that hide nothing (IDEM004).
//!
//! An exemption without a reason does not exempt (IDEM003 reports it). An exemption with a
//! reason that matches no finding is itself a finding: it hides nothing today and would hide
//! something tomorrow.

use globset::{Glob, GlobMatcher};

use crate::finding::Finding;
use crate::model::{Exemption, ExemptionScope};
use crate::registry::find_rule;
use crate::rules::idem004;

/// The findings that remain, and how many were hidden by exemptions.
#[derive(Debug, Default)]
pub struct Suppressed {
    pub findings: Vec<Finding>,
    pub suppressed: usize,
}

enum Matcher<'a> {
    Lines {
        file: &'a str,
        start: u32,
        end: u32,
    },
    Glob {
        path: GlobMatcher,
        key: Option<GlobMatcher>,
    },
    Never,
}

impl Matcher<'_> {
    fn covers(&self, finding: &Finding) -> bool {
        match self {
            Matcher::Lines { file, start, end } => finding
                .anchors()
                .any(|l| l.within_lines(file, *start, *end)),
            Matcher::Glob { path, key } => {
                finding.anchors().any(|l| path.is_match(&*l.file))
                    && key.as_ref().is_none_or(|k| k.is_match(&finding.key))
            }
            Matcher::Never => false,
        }
    }
}

fn glob(pattern: &str) -> Option<GlobMatcher> {
    Glob::new(pattern).ok().map(|g| g.compile_matcher())
}

/// Hides the findings covered by a valid exemption; adds IDEM004 for valid exemptions that
/// covered nothing. `rule_enabled` says whether a rule id is switched on in the config: an
/// exemption of a switched-off rule is not reported as unused.
///
/// `scanned` lists the files of this run: a path-glob exemption that matches none of them is
/// about code this run did not look at (a scan of one folder of a repository), so it is not
/// reported as unused.
pub fn apply_exemptions(
    findings: Vec<Finding>,
    exemptions: &[Exemption],
    rule_enabled: impl Fn(&str) -> bool,
    scanned: &[std::sync::Arc<str>],
) -> Suppressed {
    let matchers: Vec<Matcher<'_>> = exemptions
        .iter()
        .map(|e| {
            if !e.has_reason() {
                return Matcher::Never;
            }
            match &e.scope {
                ExemptionScope::Lines { file, start, end } => Matcher::Lines {
                    file,
                    start: *start,
                    end: *end,
                },
                ExemptionScope::Glob { pattern, key } => match glob(pattern) {
                    Some(path) => Matcher::Glob {
                        path,
                        key: key.as_deref().and_then(glob),
                    },
                    None => Matcher::Never,
                },
            }
        })
        .collect();
    let mut used = vec![false; exemptions.len()];
    let mut out = Suppressed::default();
    for finding in findings {
        let mut hidden = false;
        for (i, (e, m)) in exemptions.iter().zip(&matchers).enumerate() {
            if e.rule.eq_ignore_ascii_case(finding.rule) && m.covers(&finding) {
                used[i] = true;
                hidden = true;
            }
        }
        if hidden {
            out.suppressed += 1;
        } else {
            out.findings.push(finding);
        }
    }
    for ((e, m), used) in exemptions.iter().zip(&matchers).zip(used) {
        if used || !e.has_reason() || !e.report_unused {
            continue;
        }
        if let Matcher::Glob { path, .. } = m {
            if !scanned.iter().any(|f| path.is_match(&**f)) {
                continue;
            }
        }
        let message = match find_rule(&e.rule) {
            None => format!("exemption names `{}`, which is not a rule id", e.rule),
            Some(r) if !rule_enabled(r.meta().id) => continue,
            Some(r) => format!(
                "exemption of {} ({}) matches no finding",
                r.meta().id,
                r.meta().name
            ),
        };
        out.findings.push(
            Finding::new(&idem004::META, e.location.clone(), message)
                .label("this exemption hides nothing")
                .help("remove it, or move it to the item it was meant for")
                .key(format!(
                    "{}:{:?}:{}",
                    e.rule,
                    e.origin,
                    e.reason.as_deref().unwrap_or("")
                )),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::Location;
    use crate::model::ExemptionOrigin;
    use crate::rules::retry001;
    use std::sync::Arc;

    fn loc(file: &str, line: u32) -> Location {
        Location {
            file: Arc::from(file),
            line,
            column: 1,
            end_line: line,
            end_column: 2,
            offset: 0,
            len: 1,
        }
    }

    fn exemption(rule: &str, reason: Option<&str>, at: u32, start: u32, end: u32) -> Exemption {
        Exemption {
            rule: rule.into(),
            reason: reason.map(Into::into),
            origin: ExemptionOrigin::Attribute,
            location: loc("src/a.rs", at),
            scope: ExemptionScope::Lines {
                file: Arc::from("src/a.rs"),
                start,
                end,
            },
            report_unused: true,
        }
    }

    #[test]
    fn exemption_with_reason_hides_finding_in_scope() {
        let f = Finding::new(&retry001::META, loc("src/a.rs", 12), "retry");
        let ex = [exemption("RETRY001", Some("bounded by caller"), 9, 10, 20)];
        let out = apply_exemptions(vec![f], &ex, |_| true, &[]);
        assert_eq!(out.suppressed, 1);
        assert!(out.findings.is_empty());
    }

    #[test]
    fn exemption_without_reason_does_not_hide() {
        let f = Finding::new(&retry001::META, loc("src/a.rs", 12), "retry");
        let ex = [exemption("RETRY001", Some("  "), 9, 10, 20)];
        let out = apply_exemptions(vec![f], &ex, |_| true, &[]);
        assert_eq!(out.suppressed, 0);
        assert_eq!(out.findings.len(), 1);
        assert_eq!(out.findings[0].rule, "RETRY001");
    }

    #[test]
    fn unused_exemption_is_reported_at_its_location() {
        let f = Finding::new(&retry001::META, loc("src/a.rs", 30), "retry");
        let ex = [exemption("RETRY001", Some("why"), 9, 10, 20)];
        let out = apply_exemptions(vec![f], &ex, |_| true, &[]);
        let rules: Vec<_> = out
            .findings
            .iter()
            .map(|f| (f.rule, f.location.line))
            .collect();
        assert_eq!(rules, vec![("RETRY001", 30), ("IDEM004", 9)]);
    }

    #[test]
    fn exemption_of_disabled_rule_is_not_unused() {
        let ex = [exemption("RETRY002", Some("why"), 9, 10, 20)];
        let out = apply_exemptions(vec![], &ex, |id| id != "RETRY002", &[]);
        assert!(out.findings.is_empty());
    }

    #[test]
    fn glob_exemption_for_files_not_scanned_is_not_unused() {
        let ex = [Exemption {
            rule: "RETRY001".into(),
            reason: Some("legacy".into()),
            origin: ExemptionOrigin::Config,
            location: loc("idemgate.toml", 4),
            scope: ExemptionScope::Glob {
                pattern: "src/legacy/**".into(),
                key: None,
            },
            report_unused: true,
        }];
        let out = apply_exemptions(vec![], &ex, |_| true, &[Arc::from("src/api.rs")]);
        assert!(out.findings.is_empty());
        let out = apply_exemptions(vec![], &ex, |_| true, &[Arc::from("src/legacy/a.rs")]);
        assert_eq!(out.findings.len(), 1);
        assert_eq!(out.findings[0].rule, "IDEM004");
    }

    #[test]
    fn glob_exemption_matches_file_and_key() {
        let f =
            Finding::new(&retry001::META, loc("src/legacy/x.rs", 3), "retry").key("legacy::poll");
        let ex = [Exemption {
            rule: "retry001".into(),
            reason: Some("legacy".into()),
            origin: ExemptionOrigin::Config,
            location: loc("idemgate.toml", 4),
            scope: ExemptionScope::Glob {
                pattern: "src/legacy/**".into(),
                key: Some("legacy::*".into()),
            },
            report_unused: true,
        }];
        let out = apply_exemptions(vec![f], &ex, |_| true, &[]);
        assert_eq!(out.suppressed, 1);
    }
}
