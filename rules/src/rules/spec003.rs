//! SPEC003 unmatched-operation: inside a paired contract, a side-effecting route the spec does
//! not describe, or a spec operation no route serves.

use std::collections::HashSet;

use crate::model::rust::Handler;
use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "SPEC003",
    name: "unmatched-operation",
    default_severity: Severity::Info,
    summary: "a side-effecting route the paired spec does not describe, or a spec operation no route serves",
    docs: r#"## Why
SPEC001 and SPEC002 can only compare what they can pair. A side-effecting route missing from the
spec is an endpoint clients cannot know the idempotency contract of; an operation with no route
is a promise nothing keeps (a renamed path, a removed handler, a mount prefix the spec does not
share). Both are reported at info level, so a spec and its code drifting apart is visible.

Matching is by method and normalized path template: `{id}`, `:id`, `*rest`, `{*rest}`,
`{id:\d+}`, `<id>` and `<path..>` are all one parameter, parameter names do not matter, and
trailing slashes are ignored. The spec's paths are prefixed with the `base-path` of its
`[[contracts]]` entry, else with the path of its first `servers` URL (2.0: `basePath`); the
routes carry their routers' mount prefixes (`nest`, `scope`, `.at`). If the spec is served
behind a proxy that strips its prefix, set `base-path = "/"`. Routes whose path is not a literal
are not matched. A crate that registers no route at all does not serve the spec it holds (a
client generated from it): paired without configuration, it reports nothing.

## Bad
```yaml
servers: [{url: "https://api.example.com/v1"}]
paths:
  /orders:
    post: {}
```
```rust
let app = Router::new().nest("/v2", Router::new().route("/orders", post(create_order)));
```

## Good
```rust
let app = Router::new().nest("/v1", Router::new().route("/orders", post(create_order)));
```
"#,
};

pub struct UnmatchedOperation;

impl Rule for UnmatchedOperation {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, ctx: &Context, out: &mut Vec<Finding>) {
        let contracts = &model.contracts;
        let mut seen = HashSet::new();
        for u in &contracts.unmatched_routes {
            let Some(route) = model.rust.routes.get(u.index) else {
                continue;
            };
            let Some(path) = &route.path else {
                continue;
            };
            if !ctx.is_side_effecting(&route.method) || !seen.insert(route.registration.clone()) {
                continue;
            }
            let spec = contracts.spec_of(u.contract);
            let served = match &route.handler {
                Handler::Resolved(h) => format!(" (handler `{}`)", h.path),
                _ => String::new(),
            };
            out.push(
                Finding::new(
                    &META,
                    route.registration.clone(),
                    format!(
                        "side-effecting route {} {path}{served} has no operation in `{spec}`",
                        route.method
                    ),
                )
                .label("not in the spec")
                .help("describe the route in the spec (with its idempotency key), or check the spec's `servers` prefix and the router's mount prefix")
                .key(format!("{} {path}", route.method)),
            );
        }
        for u in &contracts.unmatched_operations {
            let Some(op) = model.openapi.operations.get(u.index) else {
                continue;
            };
            if !seen.insert(op.location.clone()) {
                continue;
            }
            let Some(c) = contracts.contracts.get(u.contract) else {
                continue;
            };
            let code = c
                .code
                .iter()
                .map(|p| format!("`{}`", if p.is_empty() { "." } else { p }))
                .collect::<Vec<_>>()
                .join(", ");
            let prefix = if c.base_path.is_empty() || c.base_path == "/" {
                String::new()
            } else {
                format!(" (matched as {} {}{})", op.method, c.base_path, op.path)
            };
            let f = Finding::new(
                &META,
                op.location.clone(),
                format!(
                    "{} in `{}`{prefix} is served by no route of {code}",
                    op.display_name(),
                    c.spec
                ),
            )
            .label("no route serves this operation")
            .help("register a route for the operation, remove it from the spec, or set the contract's `base-path`")
            .key(op.key());
            out.push(op.with_references(f));
        }
    }
}
