//! `idemgate routes`: the route inventory, for people (one line a route) and as JSON.
//!
//! ```text
//! {
//!   "version": 1,
//!   "routes": [{
//!     "method": "POST", "path": "/api/orders" | null, "framework": "axum",
//!     "file": "src/api.rs", "line": 12, "end_line": 12,      // the registration
//!     "status": "declared" | "missing" | "unresolved" | "closure",
//!     "declared_by": "#[idempotent]" | "IdempotencyLayer" | null,
//!     "handler": "crate::orders::create" | null,
//!     "handler_file": "src/orders.rs" | null, "handler_line": 30 | null,
//!     "reason": "…" | null,                                 // why it is unresolved
//!     "operations": [{"method": "POST", "path": "/orders",   // the paired spec operations
//!       "operation_id": "createOrder" | null, "file": "openapi.yaml", "line": 34}]
//!   }]
//! }
//! ```
//! Routes are sorted by file, line, method.

use idemgate_rules::model::rust::{Handler, Route};
use serde_json::{json, Value};

use super::Format;
use crate::contract::ServedOperation;
use crate::engine::Outcome;

fn status(r: &Route) -> (&'static str, Option<String>) {
    if let Some(l) = &r.covered_by_layer {
        return ("declared", Some(l.clone()));
    }
    match &r.handler {
        Handler::Resolved(h) if h.idempotent => ("declared", Some("#[idempotent]".into())),
        Handler::Resolved(_) => ("missing", None),
        Handler::Closure => ("closure", None),
        Handler::Unresolved { .. } => ("unresolved", None),
    }
}

fn sorted(outcome: &Outcome) -> Vec<(&Route, &[ServedOperation])> {
    let mut v: Vec<(&Route, &[ServedOperation])> = outcome
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let ops = outcome
                .route_operations
                .get(i)
                .map_or(&[][..], Vec::as_slice);
            (r, ops)
        })
        .collect();
    v.sort_by(|(a, _), (b, _)| {
        (&a.registration.file, a.registration.line, &a.method).cmp(&(
            &b.registration.file,
            b.registration.line,
            &b.method,
        ))
    });
    v
}

pub fn render(outcome: &Outcome, format: Format) -> String {
    let routes = sorted(outcome);
    match format {
        Format::Json => {
            let list: Vec<Value> = routes
                .iter()
                .map(|(r, ops)| {
                    let (st, by) = status(r);
                    let operations: Vec<Value> = ops
                        .iter()
                        .map(|o| {
                            json!({
                                "method": o.method,
                                "path": o.path,
                                "operation_id": o.operation_id,
                                "file": &*o.location.file,
                                "line": o.location.line,
                            })
                        })
                        .collect();
                    let (handler, hfile, hline, reason) = match &r.handler {
                        Handler::Resolved(h) => (
                            Some(h.path.clone()),
                            Some(h.location.file.to_string()),
                            Some(h.location.line),
                            None,
                        ),
                        Handler::Unresolved { reason, .. } => {
                            (None, None, None, Some(reason.clone()))
                        }
                        Handler::Closure => (None, None, None, None),
                    };
                    json!({
                        "method": r.method,
                        "path": r.path,
                        "framework": r.framework.as_str(),
                        "file": &*r.registration.file,
                        "line": r.registration.line,
                        "end_line": r.registration.end_line,
                        "status": st,
                        "declared_by": by,
                        "handler": handler,
                        "handler_file": hfile,
                        "handler_line": hline,
                        "reason": reason,
                        "operations": operations,
                    })
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&json!({ "version": 1, "routes": list }))
                .unwrap_or_default();
            s.push('\n');
            s
        }
        _ => {
            let mut out = String::new();
            for (r, ops) in &routes {
                let (st, by) = status(r);
                let what = match (&r.handler, by) {
                    (_, Some(by)) => format!("{st} by {by}"),
                    (Handler::Resolved(h), None) => format!("{st}: {}", h.path),
                    (Handler::Unresolved { reason, .. }, None) => format!("{st}: {reason}"),
                    (Handler::Closure, None) => st.to_string(),
                };
                // the paired spec operations it serves
                let served: String = ops
                    .iter()
                    .map(|o| {
                        format!(
                            "  spec: {} {} ({}:{})",
                            o.method, o.path, o.location.file, o.location.line
                        )
                    })
                    .collect();
                out.push_str(&format!(
                    "{:<7} {:<40} {}:{}  {}{served}\n",
                    r.method,
                    r.path.as_deref().unwrap_or("?"),
                    r.registration.file,
                    r.registration.line,
                    what
                ));
            }
            out.push_str(&format!("{} routes\n", routes.len()));
            out
        }
    }
}
