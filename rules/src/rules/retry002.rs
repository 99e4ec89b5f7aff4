//! RETRY002 retry-without-jitter: a retry waits a constant or deterministic delay.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "RETRY002",
    name: "retry-without-jitter",
    default_severity: Severity::Warning,
    summary: "a retry waits a constant or deterministic delay",
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

pub struct RetryWithoutJitter;

impl Rule for RetryWithoutJitter {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
