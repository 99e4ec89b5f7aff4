//! IDEM001 missing-idempotency: a side-effecting route has no declared idempotency strategy.

use crate::model::rust::{Evidence, Handler, HandlerEffects};
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

## Evidence
The gate reads what each handler does, following its calls into the scanned crates (3 calls
deep, across modules and workspace crates; recursion is followed once) and names what it found:
- **writes**: SQL that changes rows (`INSERT`/`UPDATE`/`DELETE`/`UPSERT`/`MERGE`/`REPLACE` in a
  query string or a `sqlx::query!`-style macro), `.execute(…)`, ORM saves (`insert`, `update`,
  `delete`, `save`, `create`, diesel `insert_into`, sea-orm `Entity::insert`), outbound
  POST/PUT/PATCH/DELETE, publishing or sending a message, file writes, and shared state changed
  behind a lock, in a state field or in an atomic: "it inserts into `orders` at src/db.rs:41";
- **unknown**: a call the gate cannot see (another crate, a trait object, a closure parameter,
  a macro it does not read): "it calls `payments::charge`, which the gate cannot see";
- **read-only**: the handler and everything it calls only read, validate, echo or compute.

Writes and unknown are reported at the rule's severity, with the evidence as a related location.
A read-only handler gets an info-level note ("no side effect found"): a POST that only reads is
worth a look, but not a failed build. `strict-methods = true` in the config reports it at the
rule's severity too.

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
                    let at = |e: &Evidence| format!("{}:{}", e.location.file, e.location.line);
                    let through = |e: &Evidence| match e.through.as_slice() {
                        [] => String::new(),
                        fns => format!(
                            ", through {}",
                            fns.iter()
                                .map(|f| format!("`{f}`"))
                                .collect::<Vec<_>>()
                                .join(" → ")
                        ),
                    };
                    let base = format!(
                        "handler `{}` of side-effecting route {route} has no idempotency strategy",
                        h.path
                    );
                    let (message, evidence, note) = match &h.effects {
                        HandlerEffects::Writes(e) => (
                            format!("{base}: it {} at {}{}", e.description, at(e), through(e)),
                            Some(e),
                            false,
                        ),
                        HandlerEffects::Unknown(e) => (
                            format!("{base}: it {} ({}{})", e.description, at(e), through(e)),
                            Some(e),
                            false,
                        ),
                        HandlerEffects::ReadOnly if !ctx.strict_methods => (
                            format!(
                                "no side effect found: handler `{}` of {route} only reads, validates or computes, and has no idempotency strategy",
                                h.path
                            ),
                            None,
                            true,
                        ),
                        _ => (base, None, false),
                    };
                    let mut f = Finding::new(&META, h.location.clone(), message)
                        .label(if note {
                            "no side effect found in this handler or what it calls"
                        } else {
                            "no `#[idempotent]` on this handler"
                        })
                        .related(r.registration.clone(), "route registered here");
                    if let Some(e) = evidence {
                        if e.location.line > 0 {
                            f = f.related(e.location.clone(), e.description.clone());
                        }
                    }
                    f = f
                        .help(if note {
                            format!("a route that only reads should not be POST/PATCH; if it will change state, add `{SUGGESTED_FIX}` (`strict-methods = true` reports this as an error)")
                        } else {
                            format!("add `{SUGGESTED_FIX}` ({SCOPE_CHOICES}; feature `axum` of `idemgate`), cover the router with an idempotency layer, or `#[exempt(IDEM001, reason = \"…\")]`")
                        })
                        .key(format!("{}:{}", h.path, r.method));
                    if note {
                        f.severity = Severity::Info;
                    }
                    out.push(f);
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
