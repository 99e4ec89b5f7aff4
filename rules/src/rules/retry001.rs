//! RETRY001 hand-rolled-retry: a loop or recursion re-invokes a fallible call after it failed.

use crate::model::rust::RetryKind;
use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "RETRY001",
    name: "hand-rolled-retry",
    default_severity: Severity::Error,
    summary: "a loop or recursion re-invokes a fallible call after it failed",
    docs: r#"## Why
Hand-rolled retries are where retry storms come from: each one picks its own attempts, delays
and error classification, none share a retry budget or a circuit breaker, and none are visible
in metrics. When a dependency blips, every layer retries independently and the load multiplies
until the blip becomes an outage. Retries belong in one place: `#[retry_policy(…)]`, which
brings exponential backoff with full jitter, caps, budgets, breakers and metrics.

A loop (or a function calling itself) is a retry when a call's failure sends it round again and
its success leaves. Loops that propagate errors with `?`, poll a value until it is ready, drain a
stream, tick an interval or pace successful sends are not retries and are not reported.

## Bad
```rust
let receipt = loop {
    match psp.charge(&order).await {
        Ok(r) => break r,
        Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
    }
};
```

## Good
```rust
#[retry_policy(max_attempts = 4, base = "200ms", cap = "5s", max_elapsed = "10s",
               budget = "payments")]
async fn charge(psp: &Psp, order: &Order) -> Result<Receipt, PayError> {
    psp.charge(order).await
}
```
"#,
};

pub struct HandRolledRetry;

impl Rule for HandRolledRetry {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        for s in &model.rust.retry_sites {
            let (message, label) = match s.kind {
                RetryKind::Loop => (
                    format!("this loop retries `{}` by hand after it fails", s.call),
                    "hand-rolled retry loop",
                ),
                RetryKind::Recursion => (
                    format!(
                        "`{}` calls itself to retry `{}` after it fails",
                        s.function, s.call
                    ),
                    "recursive retry",
                ),
            };
            out.push(
                Finding::new(&META, s.location.clone(), message)
                    .label(label)
                    .related(s.call_location.clone(), "the retried call")
                    .help("move the call into a function with `#[retry_policy(…)]` so attempts, backoff, budget and metrics are shared")
                    .key(format!("{}:{}", s.function, s.call)),
            );
        }
    }
}
