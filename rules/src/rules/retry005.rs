//! RETRY005 nested-retry: a retry policy calls another retry policy, so attempts multiply.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "RETRY005",
    name: "nested-retry",
    default_severity: Severity::Error,
    summary: "a retry policy calls another retry policy, so attempts multiply",
    docs: r#"## Why
Retries compose by multiplication: an outer policy of 3 attempts around an inner policy of 3
attempts makes up to 9 calls to the dependency for one logical request, and every layer of the
stack that does this multiplies again. Retry at one layer only, usually the outermost one that
knows whether the whole operation is safe to repeat.

## Bad
```rust
#[retry_policy(max_attempts = 3, budget = "orders")]
async fn place_order(o: &Order) -> Result<(), Error> {
    charge(o).await?; // charge has its own #[retry_policy]: up to 9 charges attempted
    Ok(())
}
```

## Good
```rust
#[retry_policy(max_attempts = 3, budget = "orders")]
async fn place_order(o: &Order) -> Result<(), Error> {
    charge_once(o).await?; // no retry inside
    Ok(())
}
```
"#,
};

pub struct NestedRetry;

impl Rule for NestedRetry {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        for p in &model.rust.policies {
            for n in &p.nested {
                let outer = p.args.max_attempts.as_ref().map(|a| a.value);
                let inner = model
                    .rust
                    .policies
                    .iter()
                    .find(|q| q.path == n.callee)
                    .and_then(|q| q.args.max_attempts.as_ref().map(|a| a.value));
                let product = match (outer, inner) {
                    (Some(a), Some(b)) => format!(": up to {} attempts", a.saturating_mul(b)),
                    _ => String::new(),
                };
                out.push(
                    Finding::new(
                        &META,
                        n.location.clone(),
                        format!(
                            "retry policy `{}` calls retry policy `{}`, so attempts multiply{product}",
                            p.path, n.callee
                        ),
                    )
                    .label("nested retry policy")
                    .related(p.attribute.clone(), "outer policy")
                    .related(n.callee_attribute.clone(), "inner policy")
                    .help("retry at one layer only: remove one of the two policies")
                    .key(format!("{}->{}", p.path, n.callee)),
                );
            }
        }
    }
}
