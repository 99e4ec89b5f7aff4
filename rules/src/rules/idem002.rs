//! IDEM002 unstable-idempotency-key: an idempotency key is built from a value that is fresh on every attempt.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "IDEM002",
    name: "unstable-idempotency-key",
    default_severity: Severity::Error,
    summary: "an idempotency key is built from a value that is fresh on every attempt",
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

pub struct UnstableIdempotencyKey;

impl Rule for UnstableIdempotencyKey {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
