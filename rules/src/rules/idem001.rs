//! IDEM001 missing-idempotency: a side-effecting route has no declared idempotency strategy.

use crate::model::rust::Handler;
use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "IDEM001",
    name: "missing-idempotency",
    default_severity: Severity::Error,
    summary: "a side-effecting route has no declared idempotency strategy",
    docs: r#"## Why
Clients, proxies and load balancers retry requests that timed out, and a timeout says nothing
about whether the server acted. A POST or PATCH handler without an idempotency strategy turns
every such retry into a second charge, a second email, a duplicate order. Each side-effecting
route must declare how a repeated request is recognised: `#[idempotent(…)]` on the handler, an
idempotency middleware layer on its router (`IdempotencyLayer`), or an exemption with a reason.

Routes are found wherever they are registered: axum `.route(p, post(h))` (including chains such
as `get(a).post(b)`, `.nest` and `.merge`), actix-web `#[post]`, `#[route]`, `web::resource`,
`web::scope`, `.service` and `.configure`, rocket `#[post]`, poem `.at(p, post(h))`,
poem-openapi `#[oai]` and utoipa `#[utoipa::path]`. Handlers are resolved across modules and
files. A closure handler cannot carry an attribute, so it is reported at the registration.

## Bad
```rust
async fn create_order(Json(order): Json<NewOrder>) -> impl IntoResponse { /* inserts */ }

let app = Router::new().route("/orders", post(create_order));
```

## Good
```toml
# Cargo.toml
idemgate = { version = "0.1", features = ["axum"] }
```
```rust
use idemgate::idempotent;

// The key comes from the `Idempotency-Key` header; `scope` says whose keys these are, so one
// caller never receives another's stored response:
//   scope = header("X-Tenant")  the caller (or your gateway) sends it; missing → 401
//   scope = principal           the `idemgate::http::Principal` your auth layer inserts
//   scope = none                every caller shares the keys (one trusted client)
#[idempotent(key = header("Idempotency-Key"), scope = header("X-Tenant"), ttl = "24h")]
async fn create_order(Json(order): Json<NewOrder>) -> impl IntoResponse { /* inserts */ }

let app = Router::new().route("/orders", post(create_order));
```
A retry with the same key and body gets the first response again (`Idempotent-Replayed: true`),
a concurrent one 409, the same key with another body 422, a request without a key 400.

Or cover the whole router:
```rust
use idemgate::http::{Idempotency, IdempotencyLayer};

let app = Router::new()
    .route("/orders", post(create_order))
    .layer(IdempotencyLayer::new(Idempotency::new().scope_header("X-Tenant")));
```
"#,
};

/// The annotation IDEM001 suggests, complete: the key from the `Idempotency-Key` header, keys
/// scoped by the caller's `X-Tenant` header (a handler must say whose keys these are; see
/// [`SCOPE_CHOICES`]). The tests crate compiles it verbatim into a served axum app.
pub const SUGGESTED_FIX: &str =
    r#"#[idempotent(key = header("Idempotency-Key"), scope = header("X-Tenant"))]"#;

/// The scopes a handler can choose from, as the help states them.
pub const SCOPE_CHOICES: &str =
    "`scope` is whose keys: a header the caller sends, `principal` from your auth layer, or `none`";

pub struct MissingIdempotency;

impl Rule for MissingIdempotency {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, ctx: &Context, out: &mut Vec<Finding>) {
        // one finding per handler and method, however often it is registered
        let mut seen = std::collections::HashSet::new();
        for r in &model.rust.routes {
            if !ctx.is_side_effecting(&r.method)
                || !ctx.is_guarded(r.path.as_deref())
                || r.covered_by_layer.is_some()
            {
                continue;
            }
            let route = match &r.path {
                Some(p) => format!("{} {p}", r.method),
                None => r.method.clone(),
            };
            match &r.handler {
                Handler::Resolved(h) => {
                    if h.idempotent || !seen.insert((h.location.clone(), r.method.clone())) {
                        continue;
                    }
                    out.push(
                        Finding::new(
                            &META,
                            h.location.clone(),
                            format!(
                                "handler `{}` of side-effecting route {route} has no idempotency strategy",
                                h.path
                            ),
                        )
                        .label("no `#[idempotent]` on this handler")
                        .related(r.registration.clone(), "route registered here")
                        .help(format!("add `{SUGGESTED_FIX}` ({SCOPE_CHOICES}; feature `axum` of `idemgate`), cover the router with an idempotency layer, or `#[exempt(IDEM001, reason = \"…\")]`"))
                        .key(format!("{}:{}", h.path, r.method)),
                    );
                }
                Handler::Closure => {
                    out.push(
                        Finding::new(
                            &META,
                            r.registration.clone(),
                            format!("side-effecting route {route} is served by a closure with no idempotency strategy"),
                        )
                        .label("closure handler registered here")
                        .help("move the handler into a function with `#[idempotent(…)]`, or cover the router with an idempotency layer")
                        .key(format!("{route}:closure")),
                    );
                }
                Handler::Unresolved { .. } => {}
            }
        }
    }
}
