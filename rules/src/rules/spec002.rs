//! SPEC002 undocumented-idempotency: a handler enforces an idempotency key header (or a key
//! retention) that its paired spec operation does not document.

use std::collections::{HashMap, HashSet};

use crate::defaults::IDEMPOTENCY_RETENTION_SECS;
use crate::model::rust::{Handler, IdempotentFn};
use crate::{Context, Finding, Location, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "SPEC002",
    name: "undocumented-idempotency",
    default_severity: Severity::Warning,
    summary: "a handler enforces an idempotency key header or retention its paired spec operation does not document",
    docs: r#"## Why
Clients are generated from the spec. When a handler requires a key header that the operation
does not document — or documents under another name — every generated client sends requests
without it and gets 400s, or sends `X-Idempotency-Key` to a server that reads `Idempotency-Key`
and gets no protection at all. The retention is part of the same contract: a handler that
forgets keys after 1 hour behind a spec that promises 24 hours turns a retry on the next
morning into a second side effect.

Fires on a route matched to a paired spec operation when the handler's
`#[idempotent(key = header("…"))]` header is not a header parameter of the operation (names are
compared case-insensitively), when a router's idempotency layer requires a key the operation
does not document, and when the handler's `ttl` (24 hours when not written) differs from the
operation's `x-idempotency.retention`.

## Bad
```rust
#[idempotent(key = header("Idempotency-Key"), scope = header("X-Tenant"), ttl = "1h")]
async fn create_order(Json(o): Json<NewOrder>) -> impl IntoResponse { /* inserts */ }
```
```yaml
x-idempotency: {retention: 24h}
paths:
  /orders:
    post: {}            # no Idempotency-Key parameter; retention 24h, not 1h
```

## Good
```rust
#[idempotent(key = header("Idempotency-Key"), scope = header("X-Tenant"), ttl = "24h")]
async fn create_order(Json(o): Json<NewOrder>) -> impl IntoResponse { /* inserts */ }
```
```yaml
x-idempotency: {retention: 24h}
paths:
  /orders:
    post:
      parameters:
        - {in: header, name: Idempotency-Key, required: true, schema: {type: string, maxLength: 255}}
```
"#,
};

pub struct UndocumentedIdempotency;

impl Rule for UndocumentedIdempotency {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        let attrs: HashMap<&Location, &IdempotentFn> = model
            .rust
            .idempotent_fns
            .iter()
            .map(|f| (&f.location, f))
            .collect();
        let mut seen: HashSet<(Location, Location, &str)> = HashSet::new();
        for m in &model.contracts.matches {
            let (Some(route), Some(op)) = (
                model.rust.routes.get(m.route),
                model.openapi.operations.get(m.operation),
            ) else {
                continue;
            };
            let spec = model.contracts.spec_of(m.contract);
            let op_name = op.display_name();
            let documented: Vec<&str> = op.key_headers.iter().map(|h| h.name.as_str()).collect();
            let mut push = |at: Location, kind: &'static str, f: Finding| {
                if seen.insert((at, op.location.clone(), kind)) {
                    out.push(op.with_references(f).key(format!("{}:{kind}", op.key())));
                }
            };
            let handler = match &route.handler {
                Handler::Resolved(h) if h.idempotent => attrs.get(&h.location).map(|a| (h, *a)),
                _ => None,
            };
            let Some((h, attr)) = handler else {
                // a router layer enforces a key whose header name the gate does not see
                if let Some(layer) = &route.covered_by_layer {
                    if !op.takes_key() {
                        let f = Finding::new(
                            &META,
                            route.registration.clone(),
                            format!("route {op_name} is covered by idempotency layer `{layer}`, but `{spec}` documents no idempotency key for it"),
                        )
                        .label("a key is required here")
                        .related(op.location.clone(), "the spec operation")
                        .help("add the `Idempotency-Key` header parameter to the operation");
                        push(route.registration.clone(), "header", f);
                    }
                }
                continue;
            };
            if let Some(header) = &attr.key_header {
                let same = documented.iter().any(|d| d.eq_ignore_ascii_case(header));
                if !same {
                    let (message, label) = match documented.first() {
                        None => (
                            format!("handler `{}` requires the `{header}` header, but {op_name} in `{spec}` documents no such header parameter", h.path),
                            "undocumented key header",
                        ),
                        Some(other) => (
                            format!("handler `{}` reads the key from `{header}`, but {op_name} in `{spec}` documents `{other}`", h.path),
                            "another header than the spec's",
                        ),
                    };
                    let mut f = Finding::new(&META, attr.attribute.clone(), message)
                        .label(label)
                        .related(op.location.clone(), "the spec operation");
                    if let Some(d) = op.key_headers.first() {
                        let at = d
                            .referenced_at
                            .clone()
                            .unwrap_or_else(|| d.location.clone());
                        f = f.related(at, "the spec's key header");
                    }
                    let f = f.help(format!(
                        "document `{header}` as a header parameter of the operation (or read the key from the header the spec names)"
                    ));
                    push(attr.attribute.clone(), "header", f);
                }
            }
            let Some(retention) = op.retention() else {
                continue;
            };
            let Some(spec_secs) = retention.seconds else {
                continue;
            };
            let (ttl_secs, ttl_text, at) = match &attr.ttl {
                Some(t) => match t.seconds {
                    Some(s) => (s, format!("`ttl = \"{}\"`", t.text), t.location.clone()),
                    None => continue,
                },
                None => (
                    IDEMPOTENCY_RETENTION_SECS,
                    "the default ttl of 24h".to_string(),
                    attr.attribute.clone(),
                ),
            };
            if ttl_secs != spec_secs {
                let f = Finding::new(
                    &META,
                    at.clone(),
                    format!(
                        "handler `{}` keeps keys for {ttl_text}, but {op_name} in `{spec}` declares retention `{}`",
                        h.path, retention.text
                    ),
                )
                .label("differs from the spec's retention")
                .related(retention.location.clone(), "the spec's retention")
                .related(op.location.clone(), "the spec operation")
                .help("make the handler's `ttl` and the spec's `x-idempotency.retention` the same window");
                push(at, "ttl", f);
            }
        }
    }
}
