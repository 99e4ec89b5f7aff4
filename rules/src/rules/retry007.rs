//! RETRY007 policy-exceeds-limits: a retry policy exceeds the governed limits.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "RETRY007",
    name: "policy-exceeds-limits",
    default_severity: Severity::Error,
    summary: "a retry policy exceeds the governed limits",
    docs: r#"## Why
Retry limits are a fleet property: how many attempts, how long a single wait, how long in total,
and which retry budget pays for them. A policy with 20 attempts or a 5-minute cap keeps load on a
struggling dependency long after its callers gave up; a policy with no budget can turn a blip
into a storm. The limits come from the config (default: `max_attempts` ≤ 5, `cap` ≤ 30s,
`max_elapsed` ≤ 60s, a budget is required); going beyond them needs an exemption with a reason.
An argument left out takes the runtime's default (4 attempts, base 200ms, cap 5s, max elapsed
10s, the process-wide `default` budget), and the limits apply to it too; only
`budget = "none"` opts out of budgets.

## Bad
```rust
#[retry_policy(max_attempts = 20, cap = "5m", budget = "none")]
async fn sync_inventory() -> Result<(), Error> { /* … */ }
```

## Good
```rust
#[retry_policy(max_attempts = 4, base = "200ms", cap = "5s", max_elapsed = "30s",
               budget = "inventory")]
async fn sync_inventory() -> Result<(), Error> { /* … */ }
```
"#,
};

pub struct PolicyExceedsLimits;

fn ms(n: u64) -> String {
    if (n / 1000) * 1000 == n {
        format!("{}s", n / 1000)
    } else {
        format!("{n}ms")
    }
}

impl Rule for PolicyExceedsLimits {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, ctx: &Context, out: &mut Vec<Finding>) {
        let l = &ctx.limits;
        for p in &model.rust.policies {
            let mut push = |loc: &crate::Location, what: String, label: &str, key: &str| {
                out.push(
                    Finding::new(&META, loc.clone(), format!("retry policy `{}` {what}", p.path))
                        .label(label.to_string())
                        .related(p.location.clone(), "policy function")
                        .help("stay within the governed limits, or add `#[exempt(RETRY007, reason = \"…\")]`")
                        .key(format!("{}:{key}", p.path)),
                );
            };
            use crate::defaults;
            // an argument left out takes the runtime's default, which the limits govern too
            let effective =
                |arg: &Option<crate::model::rust::PolicyArg<u64>>, default: u64| match arg {
                    Some(a) => (a.value, a.location.clone(), false),
                    None => (default, p.attribute.clone(), true),
                };
            let (attempts, at, dflt) = effective(&p.args.max_attempts, defaults::MAX_ATTEMPTS);
            if attempts > l.max_attempts {
                push(
                    &at,
                    format!(
                        "allows {attempts} attempts{}, over the limit of {}",
                        if dflt { " (the default)" } else { "" },
                        l.max_attempts
                    ),
                    "too many attempts",
                    "max_attempts",
                );
            }
            let (cap, at, dflt) = effective(&p.args.cap_ms, defaults::CAP_MS);
            if cap > l.cap_ms {
                push(
                    &at,
                    format!(
                        "waits up to {}{} between attempts, over the limit of {}",
                        ms(cap),
                        if dflt { " (the default)" } else { "" },
                        ms(l.cap_ms)
                    ),
                    "cap too long",
                    "cap",
                );
            }
            let (elapsed, at, dflt) = effective(&p.args.max_elapsed_ms, defaults::MAX_ELAPSED_MS);
            if elapsed > l.max_elapsed_ms {
                push(
                    &at,
                    format!(
                        "retries for up to {}{}, over the limit of {}",
                        ms(elapsed),
                        if dflt { " (the default)" } else { "" },
                        ms(l.max_elapsed_ms)
                    ),
                    "max_elapsed too long",
                    "max_elapsed",
                );
            }
            // without `budget = …` the runtime draws from the process-wide `default` budget
            if l.require_budget {
                if let Some(b) = p
                    .args
                    .budget
                    .as_ref()
                    .filter(|b| b.value.eq_ignore_ascii_case("none"))
                {
                    push(
                        &b.location,
                        "opts out of retry budgets".into(),
                        "budget = \"none\"",
                        "budget",
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rust::{PolicyArg, PolicyArgs, PolicyFn};

    fn policy(args: PolicyArgs) -> Model {
        let mut m = Model::default();
        m.rust.policies.push(PolicyFn {
            path: "crate::sync".into(),
            location: crate::Location::file_start("src/lib.rs".into()),
            attribute: crate::Location::file_start("src/lib.rs".into()),
            args,
            idempotent: false,
            nested: Vec::new(),
            side_effects: Vec::new(),
        });
        m
    }

    fn run(m: &Model, ctx: &Context) -> Vec<String> {
        let mut out = Vec::new();
        PolicyExceedsLimits.check(m, ctx, &mut out);
        out.into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn left_out_arguments_take_the_runtime_defaults() {
        // no budget: the `default` budget, not a finding
        assert!(run(&policy(PolicyArgs::default()), &Context::default()).is_empty());
        // a governed cap below the runtime's default cap: the default exceeds it
        let mut ctx = Context::default();
        ctx.limits.cap_ms = 2_000;
        let found = run(&policy(PolicyArgs::default()), &ctx);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("5s (the default)"), "{found:?}");
        // `budget = "none"` still opts out
        let args = PolicyArgs {
            budget: Some(PolicyArg {
                value: "none".into(),
                location: crate::Location::file_start("src/lib.rs".into()),
            }),
            ..PolicyArgs::default()
        };
        assert_eq!(
            run(&policy(args), &Context::default()),
            vec!["retry policy `crate::sync` opts out of retry budgets".to_string()]
        );
    }
}
