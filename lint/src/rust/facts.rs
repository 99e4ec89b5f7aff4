//! Facts of one file before cross-file resolution: names are still paths as written.

use std::sync::Arc;

use idemgate_rules::model::rust::{
    Framework, KeySource, PolicyArgs, RetrySite, UnresolvedRegistration,
};
use idemgate_rules::model::Exemption;
use idemgate_rules::Location;

/// Facts extracted from one file, before cross-file resolution (boxed: files travel through
/// the parallel parse by value).
#[derive(Debug, Default)]
pub struct RustFile(pub(crate) Box<FileFacts>);

/// What [`RustFile`] holds.
#[derive(Debug, Default)]
pub struct FileFacts {
    pub rel: Arc<str>,
    /// Identifies the crate the file belongs to (its folder above `src/`, or the file itself).
    pub crate_key: String,
    /// The file's module path inside its crate.
    pub module: Vec<String>,
    pub fns: Vec<FnDecl>,
    pub uses: Vec<UseDecl>,
    /// Child modules declared in this file: (parent module, name).
    pub mods: Vec<(Vec<String>, String)>,
    pub routes: Vec<RawRoute>,
    pub edges: Vec<RouterEdge>,
    pub services: Vec<ServiceRef>,
    pub retry_sites: Vec<RetrySite>,
    pub lib_uses: Vec<LibUse>,
    pub policies: Vec<RawPolicy>,
    pub effects: Vec<EffectFn>,
    pub key_sources: Vec<KeySource>,
    pub key_compositions: Vec<idemgate_rules::model::keys::KeyComposition>,
    pub idempotent_fns: Vec<idemgate_rules::model::rust::IdempotentFn>,
    pub exemptions: Vec<Exemption>,
    /// `macro_rules!` macros whose body registers routes.
    pub routing_macros: Vec<String>,
    pub macro_calls: Vec<MacroCall>,
    /// Routes produced by attribute macros the gate does not expand (GATE002).
    pub route_tables: Vec<UnresolvedRegistration>,
    /// Files pulled in by `#[path = "…"] mod x;`, relative to the scan root.
    pub path_mods: Vec<String>,
    /// The file's text: function bodies are parsed again on demand when IDEM001 follows a
    /// handler's calls (the scan parses only the items that can matter).
    pub text: Arc<str>,
    /// Line starts of `text`, built once when the file is scanned.
    pub index: idemgate_rules::LineIndex,
}

/// The method of a poem `.at(path, endpoint)` registration: every method, if the endpoint
/// turns out to be a `#[handler]` function.
pub const ANY_METHOD: &str = "*";

/// A function (or method, with its `owner` type) declared in the file.
#[derive(Debug, Clone)]
pub struct FnDecl {
    pub module: Vec<String>,
    pub owner: Option<String>,
    pub name: String,
    pub location: Location,
    pub idempotent: bool,
    /// A poem `#[handler]`: an endpoint that answers every method it is mounted for.
    pub endpoint: bool,
    /// Byte range of the function alone (from its attributes or its `fn` to its body's
    /// closing brace), which parses as a `syn::ItemFn`: its body is read on demand without
    /// parsing the impl block or module around it.
    pub span: (usize, usize),
}

/// One name bound by a `use` (or every name, for a glob).
#[derive(Debug, Clone)]
pub struct UseDecl {
    pub module: Vec<String>,
    /// The bound name; empty for a glob.
    pub name: String,
    pub path: Vec<String>,
    pub glob: bool,
}

/// What serves a route, as written.
#[derive(Debug, Clone)]
pub enum RawHandler {
    /// A path to resolve (`create`, `orders::create`, `Self::create`).
    Path(Vec<String>),
    /// The function carrying the routing attribute.
    Direct {
        path: String,
        location: Location,
        idempotent: bool,
    },
    Closure,
    Unresolved {
        text: String,
        reason: String,
    },
}

/// A route as registered in this file.
#[derive(Debug, Clone)]
pub struct RawRoute {
    pub module: Vec<String>,
    /// The function the registration is written in (crate-relative path), if any.
    pub router_fn: Option<String>,
    pub method: String,
    pub path: Option<String>,
    pub framework: Framework,
    pub registration: Location,
    pub handler: RawHandler,
    /// Names found in the middleware expressions applied to this route.
    pub layers: Vec<String>,
}

/// A router built in another function and mounted here (`.nest(p, orders::router())`,
/// `.configure(orders::config)`, `.merge(api())`).
#[derive(Debug, Clone)]
pub struct RouterEdge {
    pub module: Vec<String>,
    pub parent_fn: Option<String>,
    pub child: Vec<String>,
    pub prefix: String,
    pub layers: Vec<String>,
    pub location: Location,
}

/// `.service(handler)` / `routes![handler]`: mounts an attribute-routed handler.
#[derive(Debug, Clone)]
pub struct ServiceRef {
    pub module: Vec<String>,
    pub parent_fn: Option<String>,
    pub handler: Vec<String>,
    pub prefix: String,
    pub layers: Vec<String>,
    pub location: Location,
}

/// A path that names a retry crate.
#[derive(Debug, Clone)]
pub struct LibUse {
    pub module: Vec<String>,
    /// The first segment (`backoff`, `tower`) — a local module of that name shadows it.
    pub root: String,
    /// The crate; empty while unknown (a call through a name the file may import from one).
    pub library: String,
    pub location: Location,
    pub kind: idemgate_rules::model::rust::LibraryUseKind,
    pub function: Option<String>,
    /// `use` inside a function body: names it binds from a retry crate, (name, library).
    pub binds: Vec<(String, String)>,
}

/// Calls that run a retry when they come from a retry crate.
pub const RETRY_INVOCATIONS: &[&str] = &[
    "retry",
    "retry_notify",
    "retry_with_index",
    "spawn",
    "spawn_notify",
    "action",
    "new_with_policy",
    "new_with_policy_and_strategy",
];

/// Names that, imported from a retry crate, are its builders, policies or runners.
pub const RETRY_NAMES: &[&str] = &[
    "Retry",
    "RetryIf",
    "ExponentialBackoff",
    "ExponentialBuilder",
    "ConstantBuilder",
    "FibonacciBuilder",
    "FixedInterval",
    "FibonacciBackoff",
    "RetryTransientMiddleware",
    "RetryLayer",
    "RetryPolicy",
    "Retryable",
    "Error",
    "retry",
    "retry_notify",
];

/// A call as written inside a function, for linking policies to callees.
#[derive(Debug, Clone)]
pub enum CallTarget {
    Path(Vec<String>),
    SelfMethod(String),
}

#[derive(Debug, Clone)]
pub struct Call {
    pub target: CallTarget,
    pub location: Location,
}

/// A `#[retry_policy]` function before its calls are resolved.
#[derive(Debug, Clone)]
pub struct RawPolicy {
    pub module: Vec<String>,
    pub owner: Option<String>,
    pub path: String,
    pub location: Location,
    pub attribute: Location,
    pub args: PolicyArgs,
    pub idempotent: bool,
    pub calls: Vec<Call>,
    /// Outbound POST/PATCH sent by the function itself.
    pub outbound: Vec<(String, Location)>,
    /// The function puts an idempotency key on its requests.
    pub keyed: bool,
}

/// A function that sends an outbound POST/PATCH.
#[derive(Debug, Clone)]
pub struct EffectFn {
    pub path: String,
    pub what: String,
    pub keyed: bool,
    pub idempotent: bool,
}

/// A macro invocation that might produce routes.
#[derive(Debug, Clone)]
pub struct MacroCall {
    pub name: String,
    pub location: Location,
}

/// Crate key and module path of a file, from its relative path: the crate is the folder above
/// the last `src/`; files outside a `src/` folder (and `src/bin/*.rs`) are crates of their own.
pub fn crate_and_module(rel: &str) -> (String, Vec<String>) {
    let parts: Vec<&str> = rel.split('/').collect();
    let Some(src) = parts.iter().rposition(|p| *p == "src") else {
        return (rel.to_string(), Vec::new());
    };
    let rest = &parts[src + 1..];
    // `src/bin/x.rs`, and `examples/`, `tests/`, `benches/` of a crate found below a folder
    // that happens to be called `src`, are crates of their own
    if rest.first() == Some(&"bin")
        || rest[..rest.len().saturating_sub(1)]
            .iter()
            .any(|p| matches!(*p, "examples" | "tests" | "benches"))
    {
        return (rel.to_string(), Vec::new());
    }
    let crate_key = parts[..src].join("/");
    let mut module: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
    if let Some(last) = module.pop() {
        let stem = last.strip_suffix(".rs").unwrap_or(&last).to_string();
        let is_root = module.is_empty() && (stem == "lib" || stem == "main");
        if !is_root && stem != "mod" {
            module.push(stem);
        }
    }
    (crate_key, module)
}

/// `crate::a::b::name` from a module path and a name.
pub fn item_path(module: &[String], owner: Option<&str>, name: &str) -> String {
    let mut s = String::from("crate");
    for m in module {
        s.push_str("::");
        s.push_str(m);
    }
    if let Some(o) = owner {
        s.push_str("::");
        s.push_str(o);
    }
    s.push_str("::");
    s.push_str(name);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_and_module_from_paths() {
        assert_eq!(
            crate_and_module("svc/src/api/orders.rs"),
            (
                "svc".to_string(),
                vec!["api".to_string(), "orders".to_string()]
            )
        );
        assert_eq!(
            crate_and_module("src/api/mod.rs"),
            (String::new(), vec!["api".to_string()])
        );
        assert_eq!(crate_and_module("src/main.rs"), (String::new(), vec![]));
        assert_eq!(
            crate_and_module("fixtures/x.rs"),
            ("fixtures/x.rs".to_string(), vec![])
        );
    }
}
