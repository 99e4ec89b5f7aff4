//! OAS001 operation-missing-idempotency: a POST or PATCH operation declares no idempotency key or strategy.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "OAS001",
    name: "operation-missing-idempotency",
    default_severity: Severity::Error,
    summary: "a POST or PATCH operation declares no idempotency key or strategy",
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

pub struct OperationMissingIdempotency;

impl Rule for OperationMissingIdempotency {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
