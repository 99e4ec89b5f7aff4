//! OAS005 idempotency-retention-undeclared: idempotency keys are accepted but no retention window is declared.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "OAS005",
    name: "idempotency-retention-undeclared",
    default_severity: Severity::Warning,
    summary: "idempotency keys are accepted but no retention window is declared",
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

pub struct IdempotencyRetentionUndeclared;

impl Rule for IdempotencyRetentionUndeclared {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
