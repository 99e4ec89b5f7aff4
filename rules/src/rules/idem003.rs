//! IDEM003 exemption-without-reason: an exemption gives no reason, so it does not exempt.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "IDEM003",
    name: "exemption-without-reason",
    default_severity: Severity::Error,
    summary: "an exemption gives no reason, so it does not exempt",
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

pub struct ExemptionWithoutReason;

impl Rule for ExemptionWithoutReason {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
