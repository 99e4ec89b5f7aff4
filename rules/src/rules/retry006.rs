//! RETRY006 retry-without-idempotency: a retried function performs a side effect without
//! idempotency.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "RETRY006",
    name: "retry-without-idempotency",
    default_severity: Severity::Error,
    summary: "a retried function performs a side effect without idempotency",
    docs: r#"## Why
A retry re-runs the whole attempt. If the attempt sends a POST or PATCH (or calls a function
that does) and the first attempt actually succeeded before the timeout, the retry applies the
side effect a second time: a double charge, a duplicate shipment. A retried side effect needs
an idempotency key on the request, or the function itself must be `#[idempotent]`.

## Bad
```rust
#[retry_policy(max_attempts = 3, budget = "psp")]
async fn charge(c: &Client, o: &Order) -> Result<Receipt, Error> {
    Ok(c.post(PSP_URL).json(o).send().await?.json().await?)
}
```

## Good
```rust
#[retry_policy(max_attempts = 3, budget = "psp")]
async fn charge(c: &Client, o: &Order) -> Result<Receipt, Error> {
    Ok(c.post(PSP_URL)
        .header("Idempotency-Key", format!("charge:{}", o.id))
        .json(o)
        .send()
        .await?
        .json()
        .await?)
}
```
"#,
};

pub struct RetryWithoutIdempotency;

impl Rule for RetryWithoutIdempotency {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        for p in &model.rust.policies {
            if p.idempotent {
                continue;
            }
            // One request can show its method twice (`.method(Method::POST)`): report a line once.
            let mut lines = std::collections::HashSet::new();
            for e in &p.side_effects {
                if !lines.insert((&e.location.file, e.location.line)) {
                    continue;
                }
                out.push(
                    Finding::new(
                        &META,
                        e.location.clone(),
                        format!(
                            "retry policy `{}` performs a side effect ({}) without an idempotency key",
                            p.path, e.description
                        ),
                    )
                    .label("retried side effect")
                    .related(p.attribute.clone(), "retried by this policy")
                    .help("send an `Idempotency-Key` derived from business fields, or make the function `#[idempotent(…)]`")
                    .key(format!("{}:{}", p.path, e.description)),
                );
            }
        }
    }
}
