//! SPEC001 spec-promises-idempotency: a paired spec operation promises idempotency that its
//! handler does not enforce.

use std::collections::HashSet;

use crate::model::openapi::{Operation, StrategyLevel};
use crate::model::rust::Handler;
use crate::{Context, Finding, Location, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "SPEC001",
    name: "spec-promises-idempotency",
    default_severity: Severity::Error,
    summary: "a paired spec operation promises idempotency that its handler does not enforce",
    docs: r#"## Why
The spec is what clients read. An operation that documents an `Idempotency-Key` header (or an
`x-idempotency` strategy) tells every client that retrying it is safe: send the same key and the
server applies the request once. When the handler that serves the operation enforces nothing —
no `#[idempotent]`, no idempotency layer on its router — each retry of a charge that timed out
charges again, and the client did exactly what the documentation told it to.

The gate pairs a spec with the code that serves it (`[[contracts]]` in the config, or a spec
inside the crate's folder or next to its `Cargo.toml`), matches operations to routes by method
and path template (the spec's `servers` prefix and the routers' mount prefixes applied), and
reports here every matched operation whose promise the handler does not keep. The finding points
at the handler; the operation is a related location. A document-wide `x-idempotency` default
promises idempotency only for the side-effecting methods.

## Bad
```yaml
# openapi.yaml
paths:
  /charges:
    post:
      parameters:
        - {in: header, name: Idempotency-Key, required: true, schema: {type: string, maxLength: 255}}
```
```rust
async fn create_charge(Json(c): Json<NewCharge>) -> impl IntoResponse { /* charges */ }
let app = Router::new().route("/charges", post(create_charge));
```

## Good
```rust
#[idempotent(key = header("Idempotency-Key"), scope = header("X-Tenant"), ttl = "24h")]
async fn create_charge(Json(c): Json<NewCharge>) -> impl IntoResponse { /* charges */ }
```
"#,
};

pub struct SpecPromisesIdempotency;

/// What in the operation promises idempotency, and where it is written.
fn promise(op: &Operation, ctx: &Context) -> Option<(Location, String)> {
    if let Some(h) = op.key_headers.first() {
        // the parameter where the operation uses it (its `$ref`), else its definition
        let at = h
            .referenced_at
            .clone()
            .unwrap_or_else(|| h.location.clone());
        return Some((at, format!("the `{}` header", h.name)));
    }
    if let Some(b) = &op.body_key {
        return Some((b.location.clone(), format!("the `{}` body field", b.name)));
    }
    let s = op.strategy.as_ref()?;
    let applies = s.level != StrategyLevel::Document || ctx.is_side_effecting(&op.method);
    (s.kind.declares_idempotency() && applies).then(|| {
        (
            s.location.clone(),
            "an `x-idempotency` strategy".to_string(),
        )
    })
}

impl Rule for SpecPromisesIdempotency {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, ctx: &Context, out: &mut Vec<Finding>) {
        let mut seen = HashSet::new();
        for m in &model.contracts.matches {
            let (Some(route), Some(op)) = (
                model.rust.routes.get(m.route),
                model.openapi.operations.get(m.operation),
            ) else {
                continue;
            };
            if route.covered_by_layer.is_some() {
                continue;
            }
            let Some((promised_at, what)) = promise(op, ctx) else {
                continue;
            };
            let spec = model.contracts.spec_of(m.contract);
            let (at, label, key, served_by) = match &route.handler {
                Handler::Resolved(h) if h.idempotent => continue,
                Handler::Resolved(h) => (
                    h.location.clone(),
                    "enforces no idempotency",
                    format!("{}:{}", h.path, op.key()),
                    format!("handler `{}`", h.path),
                ),
                Handler::Closure => (
                    route.registration.clone(),
                    "closure handler registered here",
                    format!("{}:closure", op.key()),
                    "a closure".to_string(),
                ),
                // GATE002 reports handlers the gate cannot see
                Handler::Unresolved { .. } => continue,
            };
            if !seen.insert((at.clone(), op.location.clone())) {
                continue;
            }
            let mut f = Finding::new(
                &META,
                at,
                format!(
                    "{} in `{spec}` promises idempotency with {what}, but {served_by} enforces none",
                    op.display_name()
                ),
            )
            .label(label)
            .related(op.location.clone(), "the spec operation")
            .related(promised_at, "idempotency promised here");
            if !matches!(route.handler, Handler::Closure) {
                f = f.related(route.registration.clone(), "route registered here");
            }
            out.push(
                op.with_references(f)
                    .help("add `#[idempotent(key = header(\"Idempotency-Key\"))]` to the handler or cover its router with an idempotency layer; if the operation is not idempotent, take the promise out of the spec")
                    .key(key),
            );
        }
    }
}
