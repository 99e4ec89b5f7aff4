//! OAS002 nonstandard-idempotency-header: an idempotency header is not spelled Idempotency-Key.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "OAS002",
    name: "nonstandard-idempotency-header",
    default_severity: Severity::Warning,
    summary: "an idempotency header is not spelled Idempotency-Key",
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

pub struct NonstandardIdempotencyHeader;

impl Rule for NonstandardIdempotencyHeader {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
