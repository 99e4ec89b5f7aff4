//! RETRY006 retry-without-idempotency: a retried function performs a side effect without idempotency.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "RETRY006",
    name: "retry-without-idempotency",
    default_severity: Severity::Error,
    summary: "a retried function performs a side effect without idempotency",
    docs: r#"## Why
TODO

## Bad
```rust
```

## Good
```rust
```
"#,
};

pub struct RetryWithoutIdempotency;

impl Rule for RetryWithoutIdempotency {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
