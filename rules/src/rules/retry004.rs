//! RETRY004 ad-hoc-retry-library: a retry crate is used directly instead of the shared runtime.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "RETRY004",
    name: "ad-hoc-retry-library",
    default_severity: Severity::Error,
    summary: "a retry crate is used directly instead of the shared runtime",
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

pub struct AdHocRetryLibrary;

impl Rule for AdHocRetryLibrary {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
