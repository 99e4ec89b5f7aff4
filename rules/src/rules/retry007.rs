//! RETRY007 policy-exceeds-limits: a retry policy exceeds the governed limits.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "RETRY007",
    name: "policy-exceeds-limits",
    default_severity: Severity::Error,
    summary: "a retry policy exceeds the governed limits",
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

pub struct PolicyExceedsLimits;

impl Rule for PolicyExceedsLimits {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
