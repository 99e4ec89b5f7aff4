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
            if let Some(a) = &p.args.max_attempts {
                if a.value > l.max_attempts {
                    push(
                        &a.location,
                        format!(
                            "allows {} attempts, over the limit of {}",
                            a.value, l.max_attempts
                        ),
                        "too many attempts",
                        "max_attempts",
                    );
                }
            }
            if let Some(a) = &p.args.cap_ms {
                if a.value > l.cap_ms {
                    push(
                        &a.location,
                        format!(
                            "waits up to {} between attempts, over the limit of {}",
                            ms(a.value),
                            ms(l.cap_ms)
                        ),
                        "cap too long",
                        "cap",
                    );
                }
            }
            if let Some(a) = &p.args.max_elapsed_ms {
                if a.value > l.max_elapsed_ms {
                    push(
                        &a.location,
                        format!(
                            "retries for up to {}, over the limit of {}",
                            ms(a.value),
                            ms(l.max_elapsed_ms)
                        ),
                        "max_elapsed too long",
                        "max_elapsed",
                    );
                }
            }
            if l.require_budget {
                match &p.args.budget {
                    Some(b) if b.value.eq_ignore_ascii_case("none") => push(
                        &b.location,
                        "opts out of retry budgets".into(),
                        "budget = \"none\"",
                        "budget",
                    ),
                    Some(_) => {}
                    None => push(
                        &p.attribute,
                        "has no retry budget".into(),
                        "no `budget = …`",
                        "budget",
                    ),
                }
            }
        }
    }
}
