//! IDEM001 missing-idempotency: a side-effecting route has no declared idempotency strategy.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "IDEM001",
    name: "missing-idempotency",
    default_severity: Severity::Error,
    summary: "a side-effecting route has no declared idempotency strategy",
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

pub struct MissingIdempotency;

impl Rule for MissingIdempotency {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
