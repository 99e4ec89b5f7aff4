//! IDEM004 unused-exemption: an exemption matches no finding.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "IDEM004",
    name: "unused-exemption",
    default_severity: Severity::Warning,
    summary: "an exemption matches no finding",
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

pub struct UnusedExemption;

impl Rule for UnusedExemption {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
