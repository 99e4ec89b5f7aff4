//! RETRY005 nested-retry: a retry policy calls another retry policy, so attempts multiply.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "RETRY005",
    name: "nested-retry",
    default_severity: Severity::Error,
    summary: "a retry policy calls another retry policy, so attempts multiply",
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

pub struct NestedRetry;

impl Rule for NestedRetry {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
