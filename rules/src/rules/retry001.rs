//! RETRY001 hand-rolled-retry: a loop or recursion re-invokes a fallible call after it failed.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "RETRY001",
    name: "hand-rolled-retry",
    default_severity: Severity::Error,
    summary: "a loop or recursion re-invokes a fallible call after it failed",
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

pub struct HandRolledRetry;

impl Rule for HandRolledRetry {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
