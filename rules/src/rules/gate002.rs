//! GATE002 unresolved-route: a route registration whose handler the gate could not resolve.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "GATE002",
    name: "unresolved-route",
    default_severity: Severity::Info,
    summary: "a route registration whose handler the gate could not resolve",
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

pub struct UnresolvedRoute;

impl Rule for UnresolvedRoute {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
