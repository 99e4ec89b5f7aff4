//! RETRY003 unbounded-retry: a hand-rolled retry has no attempt cap and no total-time cap.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "RETRY003",
    name: "unbounded-retry",
    default_severity: Severity::Error,
    summary: "a hand-rolled retry has no attempt cap and no total-time cap",
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

pub struct UnboundedRetry;

impl Rule for UnboundedRetry {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
