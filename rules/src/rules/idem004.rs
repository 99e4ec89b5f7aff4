//! IDEM004 unused-exemption: an exemption matches no finding.
//!
//! Metadata only: the check needs the findings of every other rule, so the exemption pass
//! (`suppress::apply_exemptions`) computes it; the registry lists it with the others.

use crate::{RuleMeta, Severity};

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
