//! OAS004 retry-after-missing: a 429 or 503 response has no Retry-After header.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "OAS004",
    name: "retry-after-missing",
    default_severity: Severity::Warning,
    summary: "a 429 or 503 response has no Retry-After header",
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

pub struct RetryAfterMissing;

impl Rule for RetryAfterMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
