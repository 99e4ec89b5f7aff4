//! GATE002 unresolved-route: a route registration whose handler the gate could not resolve.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "GATE002",
    name: "unresolved-route",
    default_severity: Severity::Info,
    summary: "a route registration whose handler the gate could not resolve",
    docs: r#"## Why
The gate can only check a handler it can find. When a registration names a function outside the
scanned sources, a computed handler, or routes produced by a `macro_rules!` macro, the route is
neither passed nor failed: it is reported here, at info level, so it is never silently dropped.

## Bad
```rust
macro_rules! crud {
    ($router:expr, $path:literal, $h:ident) => { $router.route($path, post($h)) };
}
let app = crud!(Router::new(), "/orders", create_order); // the gate cannot see this route
```

## Good
```rust
let app = Router::new().route("/orders", post(create_order));
```
"#,
};

pub struct UnresolvedRoute;

impl Rule for UnresolvedRoute {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        for u in &model.rust.unresolved {
            let route = match (&u.method, &u.path) {
                (Some(m), Some(p)) => format!("route {m} {p}"),
                (Some(m), None) => format!("{m} route"),
                (None, _) => "route registration".to_string(),
            };
            out.push(
                Finding::new(
                    &META,
                    u.location.clone(),
                    format!("{route} was not checked: {}", u.reason),
                )
                .label(format!("cannot resolve `{}`", u.text))
                .help("register routes with a named handler function of the scanned crate so the gate can check it")
                .key(format!("{}:{}", u.text, u.path.as_deref().unwrap_or(""))),
            );
        }
    }
}
