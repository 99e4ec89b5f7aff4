//! GATE003 analysis-budget: a crate needed more name-resolution work than the run allows.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "GATE003",
    name: "analysis-budget",
    default_severity: Severity::Info,
    summary: "a crate exceeded the per-run analysis budget; some of its facts were not resolved",
    docs: r#"## Why
Name resolution is memoized and linear in the size of a crate, so a real crate never comes near
the budget. The budget is a backstop: a gate that can hang blocks every merge of every team
that runs it. When a crate exceeds it, resolution stops in that crate, every fact that needed it
is reported here (at info level) instead of being guessed, and the run completes with correct
results for everything else.

## Bad
```toml
# idemgate.toml: a budget far below what the workspace needs
analysis-budget = 1000
```

## Good
```toml
# the default (5,000,000 resolution steps per crate) fits any real crate; raise it only if
# this finding names a crate that really is that large
analysis-budget = 5000000
```
"#,
};

pub struct AnalysisBudget;

impl Rule for AnalysisBudget {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        for b in &model.rust.budget_exceeded {
            out.push(
                Finding::new(
                    &META,
                    b.location.clone(),
                    format!(
                        "`{}` was not resolved: crate `{}` exceeded the analysis budget",
                        b.text, b.krate
                    ),
                )
                .label("not resolved within the budget")
                .help("raise `analysis-budget` in the config if this crate really is that large")
                .key(format!("{}:{}", b.krate, b.text)),
            );
        }
    }
}
