//! OAS006 idempotency-key-schema: the idempotency key parameter is not a string with a maxLength.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "OAS006",
    name: "idempotency-key-schema",
    default_severity: Severity::Warning,
    summary: "the idempotency key parameter is not a string with a maxLength",
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

pub struct IdempotencyKeySchema;

impl Rule for IdempotencyKeySchema {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
