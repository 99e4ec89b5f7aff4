//! IDEM004 unused-exemption: an exemption matches no finding.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "IDEM004",
    name: "unused-exemption",
    default_severity: Severity::Warning,
    summary: "an exemption matches no finding",
    docs: r#"## Why
An exemption that matches no finding hides nothing today, and would silently hide something
tomorrow: the next handler added under it, or a real retry loop written where a harmless one
used to be. Like ruff's RUF100 for unused `noqa`, idemgate reports exemptions that are not
needed so they can be removed while their context is fresh. (This check runs after all other
rules; an exemption of a rule switched off in the config is not reported.)

## Bad
```rust
// The handler is a GET: IDEM001 never fires here, so the exemption is dead weight.
#[exempt(IDEM001, reason = "legacy")]
async fn list_orders() -> Json<Vec<Order>> { /* … */ }
```

## Good
```rust
async fn list_orders() -> Json<Vec<Order>> { /* … */ }
```
"#,
};

pub struct UnusedExemption;

impl Rule for UnusedExemption {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {
        // Needs the findings of every other rule: computed by `suppress::apply_exemptions`.
    }
}
