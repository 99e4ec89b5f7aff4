//! OAS003 idempotency-conflict-responses: an operation takes an idempotency key but documents neither 409 nor 422.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "OAS003",
    name: "idempotency-conflict-responses",
    default_severity: Severity::Warning,
    summary: "an operation takes an idempotency key but documents neither 409 nor 422",
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

pub struct IdempotencyConflictResponses;

impl Rule for IdempotencyConflictResponses {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
