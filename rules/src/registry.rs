//! The one registry: stable rule ids → rules. Users configure and suppress by id.

use crate::context::Context;
use crate::finding::{Finding, Severity};
use crate::model::Model;
use crate::rules;

/// A rule's identity and documentation. The docs are the single text behind
/// `idemgate explain`, SARIF `fullDescription`/`help`, and the web docs.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable id, e.g. `IDEM001`.
    pub id: &'static str,
    /// Kebab-case name, e.g. `missing-idempotency`.
    pub name: &'static str,
    pub default_severity: Severity,
    /// One line: what the rule fires on. Lowercase, no final period.
    pub summary: &'static str,
    /// Markdown with `## Why`, `## Bad`, `## Good` sections.
    pub docs: &'static str,
}

/// A check over the model. Rules are pure: no I/O, no re-reading files.
pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, model: &Model, ctx: &Context, out: &mut Vec<Finding>);
}

/// A rule whose findings another pass computes (IDEM004, from the exemption pass): it is in the
/// catalog for its id, docs and severity, and contributes nothing to [`run_all`].
struct ComputedElsewhere(&'static RuleMeta);

impl Rule for ComputedElsewhere {
    fn meta(&self) -> &'static RuleMeta {
        self.0
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}

static RULES: &[&dyn Rule] = &[
    &rules::idem001::MissingIdempotency,
    &rules::idem002::UnstableIdempotencyKey,
    &rules::idem003::ExemptionWithoutReason,
    // computed by the exemption pass (`suppress::apply_exemptions`), after every other rule
    &ComputedElsewhere(&rules::idem004::META),
    &rules::idem005::AmbiguousKeyComposition,
    &rules::retry001::HandRolledRetry,
    &rules::retry002::RetryWithoutJitter,
    &rules::retry003::UnboundedRetry,
    &rules::retry004::AdHocRetryLibrary,
    &rules::retry005::NestedRetry,
    &rules::retry006::RetryWithoutIdempotency,
    &rules::retry007::PolicyExceedsLimits,
    &rules::oas001::OperationMissingIdempotency,
    &rules::oas002::NonstandardIdempotencyHeader,
    &rules::oas003::IdempotencyConflictResponses,
    &rules::oas004::RetryAfterMissing,
    &rules::oas005::IdempotencyRetentionUndeclared,
    &rules::oas006::IdempotencyKeySchema,
    &rules::spec001::SpecPromisesIdempotency,
    &rules::spec002::UndocumentedIdempotency,
    &rules::spec003::UnmatchedOperation,
    &rules::gate001::UnparsableFile,
    &rules::gate002::UnresolvedRoute,
    &rules::gate003::AnalysisBudget,
];

/// Every rule, in catalog order.
pub fn all_rules() -> &'static [&'static dyn Rule] {
    RULES
}

/// Looks a rule up by id (case-insensitive) or by name.
pub fn find_rule(id_or_name: &str) -> Option<&'static dyn Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.meta().id.eq_ignore_ascii_case(id_or_name) || r.meta().name == id_or_name)
}

/// Runs every rule over the model, in catalog order.
pub fn run_all(model: &Model, ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in RULES {
        rule.check(model, ctx, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_well_formed() {
        let mut ids = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for r in all_rules() {
            let m = r.meta();
            assert!(ids.insert(m.id), "duplicate id {}", m.id);
            assert!(names.insert(m.name), "duplicate name {}", m.name);
            assert!(m.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            // message convention (clippy's): lowercase start, no final period
            assert!(
                !m.summary.ends_with('.'),
                "{}: summary ends with a period",
                m.id
            );
            assert!(
                m.summary.chars().next().is_some_and(|c| !c.is_uppercase()),
                "{}: summary starts upper-case",
                m.id
            );
            assert!(!m.docs.contains("TODO"), "{}: docs unfinished", m.id);
            for section in ["## Why", "## Bad", "## Good"] {
                assert!(m.docs.contains(section), "{}: docs lack {section}", m.id);
            }
        }
    }

    #[test]
    fn lookup_by_id_and_name() {
        assert_eq!(find_rule("retry001").map(|r| r.meta().id), Some("RETRY001"));
        assert_eq!(
            find_rule("missing-idempotency").map(|r| r.meta().id),
            Some("IDEM001")
        );
        assert!(find_rule("NOPE999").is_none());
    }
}
