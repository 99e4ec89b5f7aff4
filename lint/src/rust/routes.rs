//! Route registrations written as router-building code: axum `.route(p, post(h))` (with
//! method chains, `.nest`, `.merge`, `.layer`, `.route_layer`), actix-web
//! `web::resource(p).route(web::post().to(h))`, `.route(p, web::post().to(h))`, `web::scope`,
//! `.service`, `.configure`, `.wrap`, bare `post().to(h)` after a glob import, poem
//! `Route::new().at(p, post(h))` and `.with`, rocket `.mount(base, routes![…])`.
//!
//! A chain is read from its innermost receiver outwards, which is the order axum applies
//! layers in: `.layer(L)` covers the routes registered before it; `.wrap(M)`/`.with(M)` cover
//! the whole chain.

use idemgate_rules::model::rust::Framework;
use idemgate_rules::Location;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, ExprMethodCall};

use super::attrs::METHODS;
use super::facts::{RawHandler, RawRoute, RouterEdge, ServiceRef};
use super::span::Spanner;
use super::syntax::{path_segments, peel};

/// Chain methods that make a method-call chain a router under construction.
const ROUTING: &[&str] = &[
    "route",
    "at",
    "nest",
    "nest_service",
    "service",
    "configure",
    "merge",
    "mount",
    "route_layer",
    "typed_get",
    "typed_post",
    "typed_put",
    "typed_patch",
    "typed_delete",
    // aide (OpenAPI for axum)
    "api_route",
    "api_route_with",
    "nest_api_service",
    "nest_api",
];

/// Types whose constructors start a router (`Router::new()`, `App::new()`, `Route::new()`,
/// `rocket::build()`).
const ROUTER_TYPES: &[&str] = &[
    "Router",
    "Route",
    "App",
    "Rocket",
    "Scope",
    "ApiRouter",
    "OpenApiRouter",
    "ServiceConfig",
];

/// Parameter types that are routers under construction (`cfg: &mut web::ServiceConfig`).
fn router_type(ty: &str) -> bool {
    ROUTER_TYPES.iter().any(|t| ty.contains(t))
}

pub struct Routes<'a, 'b> {
    pub sp: &'a Spanner<'b>,
    pub module: &'a [String],
    pub router_fn: Option<&'a str>,
    /// The enclosing function's parameters: (name, type as written).
    params: Vec<(String, String)>,
    pub routes: Vec<RawRoute>,
    pub edges: Vec<RouterEdge>,
    pub services: Vec<ServiceRef>,
    /// `.layer(L)`/`.wrap(M)` applied to a router held in a variable: (byte offset, names).
    var_layers: Vec<(usize, Vec<String>)>,
    /// Routers bound to a variable (`let api = Router::new().route(…)`), kept until they are
    /// mounted (`.nest("/api", api)`, which prefixes them) or the function ends.
    vars: Vec<(String, Local)>,
}

#[derive(Default)]
struct Local {
    routes: Vec<RawRoute>,
    edges: Vec<RouterEdge>,
    services: Vec<ServiceRef>,
    /// Middleware that wraps the whole router (actix `.wrap`, poem `.with`, rocket
    /// `.attach`): it also covers what is registered on it later (`app.configure(…)`).
    wraps: Vec<String>,
    /// A router a function built (`let v1 = v1::router()`): it counts only where it is
    /// mounted, never on its own.
    deferred: bool,
}

impl Local {
    /// Mounts these registrations under `prefix` (`.nest("/api", api)`).
    fn prefixed(mut self, prefix: &Option<String>) -> Local {
        for r in &mut self.routes {
            r.path = join(prefix, r.path.take());
        }
        for e in &mut self.edges {
            e.prefix = join(prefix, Some(std::mem::take(&mut e.prefix))).unwrap_or_default();
        }
        for s in &mut self.services {
            s.prefix = join(prefix, Some(std::mem::take(&mut s.prefix))).unwrap_or_default();
        }
        self
    }

    fn add_layers(&mut self, names: &[String]) {
        for r in &mut self.routes {
            r.layers.extend(names.iter().cloned());
        }
        for e in &mut self.edges {
            e.layers.extend(names.iter().cloned());
        }
        for s in &mut self.services {
            s.layers.extend(names.iter().cloned());
        }
    }

    fn extend(&mut self, other: Local) {
        self.routes.extend(other.routes);
        self.edges.extend(other.edges);
        self.services.extend(other.services);
    }

    fn prefix_all(&mut self, prefix: &Option<String>) {
        let taken = std::mem::take(self);
        let wraps = taken.wraps.clone();
        *self = taken.prefixed(prefix);
        self.wraps = wraps;
    }
}

fn lit_str(e: &Expr) -> Option<String> {
    match peel(e) {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    }
}

/// A mount prefix as far as literals tell: `"/api"`, `[base, "/api"].concat()` → `/api`,
/// `format!("{base}/api")` → `/api` (the runtime parts are configuration, usually empty).
fn prefix_text(e: &Expr) -> Option<String> {
    if let Some(s) = lit_str(e) {
        return Some(s);
    }
    match peel(e) {
        Expr::MethodCall(mc) if mc.method == "concat" || mc.method == "join" => {
            if let Expr::Array(a) = peel(&mc.receiver) {
                let parts: Vec<String> = a.elems.iter().filter_map(lit_str).collect();
                return (!parts.is_empty()).then(|| parts.concat());
            }
            None
        }
        Expr::Macro(m) if super::syntax::last_ident(&m.mac.path) == "format" => {
            let lit = m.mac.parse_body_with(
                syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated,
            );
            let first = lit.ok()?.into_iter().next()?;
            let fmt = lit_str(&first)?;
            // drop `{…}` placeholders
            let mut out = String::new();
            let mut depth = 0;
            for c in fmt.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ if depth == 0 => out.push(c),
                    _ => {}
                }
            }
            Some(out)
        }
        _ => None,
    }
}

/// Whether `e` is written like a route path: a string literal, a constant (`ORDERS_PATH`), or
/// a `format!`/`concat!` of one.
fn path_like(e: &Expr) -> bool {
    match peel(e) {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(_),
            ..
        }) => true,
        Expr::Path(p) => p.path.segments.last().is_some_and(|s| {
            let n = s.ident.to_string();
            n.len() > 1
                && n.chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        }),
        Expr::Macro(m) => matches!(
            super::syntax::last_ident(&m.mac.path).as_str(),
            "format" | "concat"
        ),
        Expr::MethodCall(mc) => mc.method == "as_str" || mc.method == "as_ref",
        _ => false,
    }
}

/// Whether `e` builds a method router or route: `post(h)`, `get(a).post(b)`,
/// `web::post().to(h)`, `on(MethodFilter::POST, h)`, `post_service(s)`.
/// `TcpStream::connect(addr)`, `Client::post(url)`: a function of a type, not a routing
/// function (those live in modules: `routing::post`, `web::post`).
fn type_function(p: &syn::Path) -> bool {
    let n = p.segments.len();
    n >= 2
        && p.segments[n - 2]
            .ident
            .to_string()
            .starts_with(|c: char| c.is_ascii_uppercase())
}

fn is_method_router(e: &Expr) -> bool {
    match peel(e) {
        Expr::Call(c) => {
            let Expr::Path(p) = peel(&c.func) else {
                return false;
            };
            if type_function(&p.path) {
                return false;
            }
            let last = super::syntax::last_ident(&p.path);
            (last
                .strip_suffix("_with")
                .is_some_and(|m| METHODS.contains(&m))
                && !c.args.is_empty())
                || (METHODS.contains(&last.as_str())
                    && c.args.len() == 1
                    && !matches!(peel(&c.args[0]), Expr::Lit(_)))
                || (last == "on" && c.args.len() == 2)
                || last
                    .strip_suffix("_service")
                    .is_some_and(|m| METHODS.contains(&m))
        }
        Expr::MethodCall(mc) => {
            let m = mc.method.to_string();
            if m == "to" {
                return !actix_methods(&mc.receiver).is_empty()
                    || matches!(peel(&mc.receiver), Expr::Call(c) if matches!(peel(&c.func), Expr::Path(p) if super::syntax::last_ident(&p.path) == "route"));
            }
            if METHODS.contains(&m.as_str())
                || m == "on"
                || matches!(m.as_str(), "layer" | "route_layer" | "with")
            {
                return is_method_router(&mc.receiver);
            }
            false
        }
        _ => false,
    }
}

fn join(prefix: &Option<String>, p: Option<String>) -> Option<String> {
    let prefix = prefix.as_ref()?;
    let p = p?;
    let mut s = prefix.trim_end_matches('/').to_string();
    if !p.is_empty() && !p.starts_with('/') {
        s.push('/');
    }
    s.push_str(&p);
    if s.is_empty() {
        s.push('/');
    }
    Some(s)
}

/// Names of the middleware in `.layer(…)`/`.wrap(…)` arguments: every identifier (type and
/// constructor names), and `fn:name` for a middleware function (`from_fn(dedup)`).
fn layer_names(args: &syn::punctuated::Punctuated<Expr, syn::Token![,]>) -> Vec<String> {
    struct Names(Vec<String>);
    impl<'ast> Visit<'ast> for Names {
        fn visit_ident(&mut self, i: &'ast proc_macro2::Ident) {
            if self.0.len() < 32 {
                self.0.push(i.to_string());
            }
        }
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            if let Expr::Path(p) = peel(&c.func) {
                let f = super::syntax::last_ident(&p.path);
                if f.starts_with("from_fn") || matches!(f.as_str(), "around" | "map_request") {
                    for a in &c.args {
                        if let Expr::Path(h) = peel(a) {
                            self.0
                                .push(format!("fn:{}", super::syntax::last_ident(&h.path)));
                        }
                    }
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
    }
    let mut n = Names(Vec::new());
    for a in args {
        n.visit_expr(a);
    }
    n.0
}

/// How a method-call chain starts.
enum Root<'e> {
    /// `Router::new()`, `App::new()`, `web::scope("/x")`, `rocket::build()`.
    Constructor,
    /// A variable (`app`, `cfg`).
    Var(&'e syn::ExprPath),
    Other,
}

fn root_of(mc: &ExprMethodCall) -> Root<'_> {
    let mut cur: &Expr = &mc.receiver;
    loop {
        match peel(cur) {
            Expr::MethodCall(m) => cur = &m.receiver,
            Expr::Path(p) if p.path.segments.len() == 1 && p.path.leading_colon.is_none() => {
                return Root::Var(p)
            }
            Expr::Call(c) => {
                let Expr::Path(p) = peel(&c.func) else {
                    return Root::Other;
                };
                let segs = path_segments(&p.path);
                let n = segs.len();
                let last = segs.last().map(String::as_str).unwrap_or("");
                let owner = if n >= 2 { segs[n - 2].as_str() } else { "" };
                let ctor = matches!(last, "new" | "default" | "build" | "custom" | "ignite")
                    && (ROUTER_TYPES.contains(&owner) || owner == "rocket");
                return if ctor || matches!(last, "scope" | "resource") {
                    Root::Constructor
                } else {
                    Root::Other
                };
            }
            _ => return Root::Other,
        }
    }
}

fn is_routing_chain(mc: &ExprMethodCall) -> bool {
    let mut cur: &Expr = &mc.receiver;
    if ROUTING.contains(&mc.method.to_string().as_str()) {
        return true;
    }
    while let Expr::MethodCall(m) = peel(cur) {
        if ROUTING.contains(&m.method.to_string().as_str()) {
            return true;
        }
        cur = &m.receiver;
    }
    // a router built and wrapped before anything is registered on it
    // (`let app = App::new().wrap(Idempotency…)`)
    matches!(root_of(mc), Root::Constructor)
}

/// The root of a method-call chain, if it is a plain variable (`app`, `cfg`).
fn chain_root_is_var(mc: &ExprMethodCall) -> bool {
    matches!(root_of(mc), Root::Var(_))
}

/// The function a value comes from, through methods that keep a router a router
/// (`v1::router(cfg).with_state(s)`, `api().boxed()`): a candidate router variable.
fn built_by(e: &Expr) -> Option<Vec<String>> {
    match peel(e) {
        Expr::MethodCall(mc)
            if matches!(
                mc.method.to_string().as_str(),
                "with_state" | "into" | "boxed" | "into_make_service" | "finish_api"
            ) =>
        {
            built_by(&mc.receiver)
        }
        Expr::Call(c) => match peel(&c.func) {
            Expr::Path(p) => {
                let segs = path_segments(&p.path);
                let last = segs.last().map(String::as_str).unwrap_or("");
                (!matches!(last, "new" | "default") && !segs.is_empty()).then_some(segs)
            }
            _ => None,
        },
        _ => None,
    }
}

/// Calls inside a `.configure(|cfg| …)` closure: functions given the config (`f(cfg, …)`)
/// and chains registered on it (`cfg.service(…)`).
struct ConfigureBody<'c> {
    param: &'c str,
    calls: Vec<Vec<String>>,
    chains: Vec<Expr>,
}

fn mentions(e: &Expr, name: &str) -> bool {
    match peel(e) {
        Expr::Path(p) => p.path.is_ident(name),
        Expr::Unary(u) => mentions(&u.expr, name),
        _ => false,
    }
}

impl<'ast> Visit<'ast> for ConfigureBody<'_> {
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Expr::Path(p) = peel(&c.func) {
            if c.args.iter().any(|a| mentions(a, self.param)) && self.calls.len() < 64 {
                self.calls.push(path_segments(&p.path));
                return;
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_expr_method_call(&mut self, mc: &'ast ExprMethodCall) {
        if let Root::Var(v) = root_of(mc) {
            if v.path.is_ident(self.param) && self.chains.len() < 64 {
                self.chains.push(Expr::MethodCall(mc.clone()));
                return;
            }
        }
        syn::visit::visit_expr_method_call(self, mc);
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

impl<'a, 'b> Routes<'a, 'b> {
    pub fn new(
        sp: &'a Spanner<'b>,
        module: &'a [String],
        router_fn: Option<&'a str>,
        params: Vec<(String, String)>,
    ) -> Self {
        Routes {
            sp,
            module,
            router_fn,
            params,
            routes: Vec::new(),
            edges: Vec::new(),
            services: Vec::new(),
            var_layers: Vec::new(),
            vars: Vec::new(),
        }
    }

    /// Applies layers put on a router variable to what the function registered before them.
    pub fn finish(&mut self) {
        // Router variables never mounted in this function are registered as they are (a
        // router another function built is only a value until mounted).
        for (_, local) in std::mem::take(&mut self.vars) {
            if local.deferred {
                continue;
            }
            self.routes.extend(local.routes);
            self.edges.extend(local.edges);
            self.services.extend(local.services);
        }
        for (offset, names) in std::mem::take(&mut self.var_layers) {
            for r in &mut self.routes {
                if r.registration.offset < offset {
                    r.layers.extend(names.iter().cloned());
                }
            }
            for e in &mut self.edges {
                e.layers.extend(names.iter().cloned());
            }
            for s in &mut self.services {
                s.layers.extend(names.iter().cloned());
            }
        }
    }

    fn is_param(&self, e: &Expr) -> bool {
        match peel(e) {
            Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|i| self.params.iter().any(|(n, _)| i == n)),
            _ => false,
        }
    }

    /// Whether a chain's receiver is known to be a router: a constructor, a router variable of
    /// this function, or a parameter typed as one.
    fn router_receiver(&self, mc: &ExprMethodCall) -> bool {
        match root_of(mc) {
            Root::Constructor => true,
            Root::Var(v) => v.path.get_ident().is_some_and(|i| {
                self.vars.iter().any(|(n, _)| i == n)
                    || self.params.iter().any(|(n, ty)| i == n && router_type(ty))
            }),
            Root::Other => false,
        }
    }

    fn edge(&self, child: Vec<String>, prefix: &Option<String>, at: Location) -> RouterEdge {
        RouterEdge {
            module: self.module.to_vec(),
            parent_fn: self.router_fn.map(String::from),
            child,
            prefix: prefix.clone().unwrap_or_default(),
            layers: Vec::new(),
            location: at,
        }
    }

    fn chain(&mut self, e: &Expr, prefix: Option<String>, depth: usize) -> Local {
        let mut local = Local::default();
        if depth > 64 {
            return local;
        }
        let mut segs: Vec<&ExprMethodCall> = Vec::new();
        let mut cur = peel(e);
        while let Expr::MethodCall(mc) = cur {
            segs.push(mc);
            cur = peel(&mc.receiver);
        }
        let known_router = segs.last().is_some_and(|mc| self.router_receiver(mc));
        segs.reverse();
        let mut prefix = prefix;
        let mut resource: Option<Option<String>> = None;
        let mut wraps: Vec<String> = Vec::new();
        match cur {
            Expr::Call(c) => {
                if let Expr::Path(p) = peel(&c.func) {
                    let segsp = path_segments(&p.path);
                    let last = segsp.last().map(String::as_str).unwrap_or("");
                    match last {
                        "scope" => {
                            prefix = join(&prefix, c.args.first().and_then(lit_str));
                        }
                        "resource" => {
                            resource = Some(join(&prefix, c.args.first().and_then(lit_str)));
                        }
                        "new" | "default" | "build" | "custom" | "ignite" => {}
                        _ => {
                            if !segsp.is_empty() {
                                let at = self.sp.loc(super::syntax::last_span(&p.path));
                                local.edges.push(self.edge(segsp, &prefix, at));
                            }
                        }
                    }
                }
            }
            // A chain continuing a router variable (`app.configure(…)`) carries its routes and
            // its whole-router middleware on.
            Expr::Path(p) => {
                if let Some(w) = self.mount_var(p, &prefix, &mut local) {
                    wraps.extend(w);
                }
            }
            Expr::Macro(m) => self.macro_routes(m, &mut local),
            _ => {}
        }
        for mc in segs {
            let m = mc.method.to_string();
            let args: Vec<&Expr> = mc.args.iter().collect();
            let reg = self.sp.range(mc.method.span(), mc.paren_token.span.close());
            match (m.as_str(), args.len()) {
                ("api_route" | "api_route_with", 2 | 3) => {
                    let path = join(&prefix, lit_str(args[0]));
                    self.method_router(args[1], path, &reg, Framework::Axum, &mut local);
                }
                ("route" | "at", 2) => {
                    // only a router's `.route`/`.at`: `infcx.at(cause, env)` is not one
                    let router = path_like(args[0]) || is_method_router(args[1]) || known_router;
                    // a helper's `.route(path, method_router)`: its callers register the route
                    if !router || self.is_param(args[1]) {
                        continue;
                    }
                    let path = join(&prefix, lit_str(args[0]));
                    let fw = if m == "at" {
                        Framework::Poem
                    } else {
                        Framework::Axum
                    };
                    self.method_router(args[1], path, &reg, fw, &mut local);
                }
                ("route", 1) if resource.is_some() => {
                    let path = resource.clone().flatten();
                    self.method_router(args[0], path, &reg, Framework::ActixWeb, &mut local);
                }
                ("nest" | "nest_service" | "nest_api_service" | "nest_api", 2) => {
                    let p = join(&prefix, lit_str(args[0]));
                    self.mount(args[1], p, depth, &mut local);
                }
                ("merge", 1) => self.mount(args[0], prefix.clone(), depth, &mut local),
                ("service", 1) => self.service(args[0], prefix.clone(), depth, &mut local),
                ("configure", 1) => self.configure(args[0], &prefix, depth, &mut local),
                ("mount", 2) => {
                    let p = join(&prefix, prefix_text(args[0]));
                    if let Expr::Macro(mac) = peel(args[1]) {
                        let parsed = mac.mac.parse_body_with(
                            syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
                        );
                        if let Ok(paths) = parsed {
                            for path in paths {
                                let at = self.sp.loc(super::syntax::last_span(&path));
                                local.services.push(ServiceRef {
                                    module: self.module.to_vec(),
                                    parent_fn: self.router_fn.map(String::from),
                                    handler: path_segments(&path),
                                    prefix: p.clone().unwrap_or_default(),
                                    layers: Vec::new(),
                                    location: at,
                                });
                            }
                        }
                    } else {
                        self.mount(args[1], p, depth, &mut local);
                    }
                }
                (typed, 1) if typed.starts_with("typed_") => {
                    // axum-extra: `.typed_post(h)`, the path comes from `h`'s TypedPath argument
                    let method = typed.trim_start_matches("typed_").to_ascii_uppercase();
                    local.routes.push(RawRoute {
                        module: self.module.to_vec(),
                        router_fn: self.router_fn.map(String::from),
                        method,
                        path: None,
                        framework: Framework::Axum,
                        registration: reg.clone(),
                        handler: handler(args[0]),
                        layers: Vec::new(),
                    });
                }
                ("layer" | "route_layer", 1) => {
                    let names = layer_names(&mc.args);
                    local.add_layers(&names);
                }
                ("wrap" | "with" | "attach", 1) => wraps.extend(layer_names(&mc.args)),
                _ => {}
            }
        }
        local.add_layers(&wraps);
        local.wraps = wraps;
        local
    }

    /// actix `.configure(f)` / `.configure(|cfg| f(cfg, …))` / `.configure(|cfg| { … })`.
    fn configure(&mut self, arg: &Expr, prefix: &Option<String>, depth: usize, local: &mut Local) {
        match peel(arg) {
            Expr::Path(p) => {
                let at = self.sp.loc(super::syntax::last_span(&p.path));
                local
                    .edges
                    .push(self.edge(path_segments(&p.path), prefix, at));
            }
            Expr::Closure(c) => {
                let Some(syn::Pat::Ident(pi)) = c.inputs.first().map(|p| match p {
                    syn::Pat::Type(t) => &*t.pat,
                    other => other,
                }) else {
                    return;
                };
                let param = pi.ident.to_string();
                let mut body = ConfigureBody {
                    param: &param,
                    calls: Vec::new(),
                    chains: Vec::new(),
                };
                body.visit_expr(&c.body);
                let at = self.sp.loc(pi.ident.span());
                for call in body.calls {
                    local.edges.push(self.edge(call, prefix, at.clone()));
                }
                for ch in body.chains {
                    let sub = self.chain(&ch, prefix.clone(), depth + 1);
                    local.extend(sub);
                }
            }
            _ => {}
        }
    }

    /// A router held in a variable of this function (`let api = Router::new()…`), mounted
    /// under `prefix`. Taken, so it is registered once. Returns its whole-router middleware.
    fn mount_var(
        &mut self,
        p: &syn::ExprPath,
        prefix: &Option<String>,
        local: &mut Local,
    ) -> Option<Vec<String>> {
        let name = p.path.get_ident().map(ToString::to_string)?;
        let i = self.vars.iter().position(|(v, _)| *v == name)?;
        let (_, mut sub) = self.vars.remove(i);
        sub.prefix_all(prefix);
        let wraps = std::mem::take(&mut sub.wraps);
        local.extend(sub);
        Some(wraps)
    }

    /// Routes produced by a macro call: not expanded, reported as unresolved.
    fn macro_routes(&self, m: &syn::ExprMacro, local: &mut Local) {
        let name = path_segments(&m.mac.path).join("::");
        let at = m
            .mac
            .path
            .segments
            .first()
            .map_or_else(proc_macro2::Span::call_site, |s| s.ident.span());
        self.unresolved_macro(local, &name, self.sp.loc(at));
    }

    fn unresolved_macro(&self, local: &mut Local, name: &str, at: Location) {
        local.routes.push(RawRoute {
            module: self.module.to_vec(),
            router_fn: self.router_fn.map(String::from),
            method: String::new(),
            path: None,
            framework: Framework::Axum,
            registration: at,
            handler: RawHandler::Unresolved {
                text: format!("{name}!"),
                reason: format!("routes produced by the macro `{name}!` are not expanded"),
            },
            layers: Vec::new(),
        });
    }

    /// A call to a route helper written by the service (`route("/x", post(h))`): the method
    /// router given to it is registered here, under the path literal given with it.
    fn helper_call(
        &mut self,
        c: &syn::ExprCall,
        prefix: &Option<String>,
        local: &mut Local,
    ) -> bool {
        let Some(mr) = c.args.iter().find(|a| is_method_router(a)) else {
            return false;
        };
        let path = join(prefix, c.args.iter().find_map(lit_str));
        let reg = self.sp.range(c.func.span(), c.paren_token.span.close());
        self.method_router(mr, path, &reg, Framework::Axum, local);
        true
    }

    /// A nested router: inline chain, a call to a router-building function, or a variable.
    fn mount(&mut self, e: &Expr, prefix: Option<String>, depth: usize, local: &mut Local) {
        match peel(e) {
            Expr::MethodCall(_) => {
                let sub = self.chain(e, prefix, depth + 1);
                local.extend(sub);
            }
            Expr::Call(c) => {
                if self.helper_call(c, &prefix, local) {
                    return;
                }
                if let Expr::Path(p) = peel(&c.func) {
                    let segs = path_segments(&p.path);
                    let last = segs.last().map(String::as_str).unwrap_or("");
                    if matches!(last, "scope" | "resource") {
                        let sub = self.chain(e, prefix, depth + 1);
                        local.extend(sub);
                    } else if !matches!(last, "new" | "default") {
                        let at = self.sp.loc(super::syntax::last_span(&p.path));
                        local.edges.push(self.edge(segs, &prefix, at));
                    }
                }
            }
            Expr::Path(p) => {
                self.mount_var(p, &prefix, local);
            }
            Expr::Macro(m) => self.macro_routes(m, local),
            _ => {}
        }
    }

    /// actix `.service(x)`: a scope/resource chain, an attribute-routed handler, or a call.
    fn service(&mut self, e: &Expr, prefix: Option<String>, depth: usize, local: &mut Local) {
        match peel(e) {
            Expr::Path(p) => {
                let at = self.sp.loc(super::syntax::last_span(&p.path));
                local.services.push(ServiceRef {
                    module: self.module.to_vec(),
                    parent_fn: self.router_fn.map(String::from),
                    handler: path_segments(&p.path),
                    prefix: prefix.unwrap_or_default(),
                    layers: Vec::new(),
                    location: at,
                })
            }
            _ => self.mount(e, prefix, depth, local),
        }
    }

    fn method_router(
        &mut self,
        e: &Expr,
        path: Option<String>,
        reg: &Location,
        fw: Framework,
        local: &mut Local,
    ) {
        let mut found: Vec<(String, RawHandler, Vec<String>, Framework)> = Vec::new();
        self.mr(e, fw, &mut found, 0);
        for (method, handler, layers, fw) in found {
            local.routes.push(RawRoute {
                module: self.module.to_vec(),
                router_fn: self.router_fn.map(String::from),
                method,
                path: path.clone(),
                framework: fw,
                registration: reg.clone(),
                handler,
                layers,
            });
        }
    }

    fn mr(
        &self,
        e: &Expr,
        fw: Framework,
        out: &mut Vec<(String, RawHandler, Vec<String>, Framework)>,
        depth: usize,
    ) {
        if depth > 64 {
            return;
        }
        match peel(e) {
            Expr::Call(c) => {
                let Expr::Path(p) = peel(&c.func) else {
                    return;
                };
                if type_function(&p.path) {
                    return;
                }
                let segs = path_segments(&p.path);
                let last = segs.last().map(String::as_str).unwrap_or("");
                let with = last.strip_suffix("_with").filter(|m| METHODS.contains(m));
                if METHODS.contains(&last) && c.args.len() == 1 {
                    if let Some(h) = c.args.first() {
                        out.push((last.to_ascii_uppercase(), handler(h), Vec::new(), fw));
                    }
                } else if let (Some(m), Some(h)) = (with, c.args.first()) {
                    // aide: `post_with(handler, docs)`
                    out.push((m.to_ascii_uppercase(), handler(h), Vec::new(), fw));
                } else if last == "on" && c.args.len() == 2 {
                    for m in methods_named(&c.args[0]) {
                        out.push((m, handler(&c.args[1]), Vec::new(), fw));
                    }
                } else if let Some(m) = last.strip_suffix("_service") {
                    if METHODS.contains(&m) {
                        out.push((
                            m.to_ascii_uppercase(),
                            RawHandler::Unresolved {
                                text: format!("{last}(…)"),
                                reason: "a tower service, not a handler function".into(),
                            },
                            Vec::new(),
                            fw,
                        ));
                    }
                }
            }
            Expr::MethodCall(mc) => {
                let m = mc.method.to_string();
                if m == "to" && mc.args.len() == 1 {
                    // actix: web::post().to(h), post().to(h), web::method(Method::POST).to(h)
                    let mut methods = actix_methods(&mc.receiver);
                    // `web::route().to(h)` with no method guard answers every method
                    let bare_route = matches!(peel(&mc.receiver), Expr::Call(c)
                        if c.args.is_empty()
                            && matches!(peel(&c.func), Expr::Path(p) if super::syntax::last_ident(&p.path) == "route"));
                    if methods.is_empty() && bare_route {
                        methods.push("ANY".to_string());
                    }
                    if let Some(h) = mc.args.first() {
                        for method in methods {
                            out.push((method, handler(h), Vec::new(), Framework::ActixWeb));
                        }
                    }
                } else if (METHODS.contains(&m.as_str()) && mc.args.len() == 1)
                    || m.strip_suffix("_with")
                        .is_some_and(|x| METHODS.contains(&x))
                {
                    self.mr(&mc.receiver, fw, out, depth + 1);
                    if let Some(h) = mc.args.first() {
                        let method = m.trim_end_matches("_with").to_ascii_uppercase();
                        out.push((method, handler(h), Vec::new(), fw));
                    }
                } else if m == "on" && mc.args.len() == 2 {
                    self.mr(&mc.receiver, fw, out, depth + 1);
                    for method in methods_named(&mc.args[0]) {
                        out.push((method, handler(&mc.args[1]), Vec::new(), fw));
                    }
                } else if let Some(method) =
                    m.strip_suffix("_service").filter(|x| METHODS.contains(x))
                {
                    // `get(a).post_service(svc)`
                    self.mr(&mc.receiver, fw, out, depth + 1);
                    out.push((
                        method.to_ascii_uppercase(),
                        RawHandler::Unresolved {
                            text: format!("{m}(…)"),
                            reason: "a tower service, not a handler function".into(),
                        },
                        Vec::new(),
                        fw,
                    ));
                } else if matches!(m.as_str(), "layer" | "route_layer" | "with") {
                    let before = out.len();
                    self.mr(&mc.receiver, fw, out, depth + 1);
                    let names = layer_names(&mc.args);
                    for x in out.iter_mut().skip(before) {
                        x.2.extend(names.iter().cloned());
                    }
                } else {
                    self.mr(&mc.receiver, fw, out, depth + 1);
                }
            }
            Expr::Macro(m) => {
                let name = path_segments(&m.mac.path).join("::");
                out.push((
                    String::new(),
                    RawHandler::Unresolved {
                        text: format!("{name}!(…)"),
                        reason: format!("routes produced by the macro `{name}!` are not expanded"),
                    },
                    Vec::new(),
                    fw,
                ));
            }
            // poem `.at(path, endpoint)`: a `#[handler]` answers every method; anything else
            // is a method router built elsewhere (decided when the path is resolved)
            Expr::Path(p) if fw == Framework::Poem => {
                out.push((
                    super::facts::ANY_METHOD.to_string(),
                    RawHandler::Path(path_segments(&p.path)),
                    Vec::new(),
                    fw,
                ));
            }
            Expr::Path(p) => {
                out.push((
                    String::new(),
                    RawHandler::Unresolved {
                        text: path_segments(&p.path).join("::"),
                        reason: "the method router is built elsewhere".into(),
                    },
                    Vec::new(),
                    fw,
                ));
            }
            _ => {}
        }
    }
}

/// `MethodFilter::POST`, `Method::PATCH` → the methods named.
fn methods_named(e: &Expr) -> Vec<String> {
    struct Names(Vec<String>);
    impl<'ast> Visit<'ast> for Names {
        fn visit_ident(&mut self, i: &'ast proc_macro2::Ident) {
            let s = i.to_string();
            if METHODS.contains(&s.to_ascii_lowercase().as_str())
                && s.chars().all(|c| c.is_ascii_uppercase())
            {
                self.0.push(s);
            }
        }
        fn visit_lit_str(&mut self, l: &'ast syn::LitStr) {
            let s = l.value().to_ascii_uppercase();
            if METHODS.contains(&s.to_ascii_lowercase().as_str()) {
                self.0.push(s);
            }
        }
    }
    let mut n = Names(Vec::new());
    n.visit_expr(e);
    n.0
}

/// The methods of an actix route builder: `web::post()`, `post()`, `web::method(Method::POST)`,
/// `web::route().method(Method::POST)`, `web::route().guard(guard::Post())`.
fn actix_methods(e: &Expr) -> Vec<String> {
    match peel(e) {
        Expr::Call(c) => {
            let Expr::Path(p) = peel(&c.func) else {
                return Vec::new();
            };
            let segs = path_segments(&p.path);
            let last = segs.last().map(String::as_str).unwrap_or("");
            if METHODS.contains(&last) && c.args.is_empty() {
                vec![last.to_ascii_uppercase()]
            } else if last == "method" {
                c.args.first().map(methods_named).unwrap_or_default()
            } else {
                Vec::new()
            }
        }
        Expr::MethodCall(mc) => {
            let m = mc.method.to_string();
            if m == "method" {
                mc.args.first().map(methods_named).unwrap_or_default()
            } else if m == "guard" {
                let mut v = actix_methods(&mc.receiver);
                for a in &mc.args {
                    struct G(Vec<String>);
                    impl<'ast> Visit<'ast> for G {
                        fn visit_ident(&mut self, i: &'ast proc_macro2::Ident) {
                            let s = i.to_string().to_ascii_lowercase();
                            if METHODS.contains(&s.as_str()) {
                                self.0.push(s.to_ascii_uppercase());
                            }
                        }
                    }
                    let mut g = G(Vec::new());
                    g.visit_expr(a);
                    v.extend(g.0);
                }
                v
            } else {
                actix_methods(&mc.receiver)
            }
        }
        _ => Vec::new(),
    }
}

/// What a handler expression is.
pub fn handler(e: &Expr) -> RawHandler {
    match peel(e) {
        Expr::Path(p) => RawHandler::Path(path_segments(&p.path)),
        Expr::Closure(_) | Expr::Async(_) => RawHandler::Closure,
        Expr::Macro(m) => {
            let name = path_segments(&m.mac.path).join("::");
            RawHandler::Unresolved {
                text: format!("{name}!(…)"),
                reason: format!("routes produced by the macro `{name}!` are not expanded"),
            }
        }
        _ => RawHandler::Unresolved {
            text: "an expression".into(),
            reason: "the handler is computed, not named".into(),
        },
    }
}

impl<'ast> Visit<'ast> for Routes<'_, '_> {
    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        // `_ = Router::new().nest("/api", api()).finish_api(&mut spec);`: a router built only
        // to be dropped (e.g. to generate an OpenAPI document) serves nothing
        let discarded = match peel(&a.left) {
            Expr::Infer(_) => true,
            Expr::Verbatim(t) => t.to_string() == "_",
            _ => false,
        };
        if discarded {
            return;
        }
        syn::visit::visit_expr_assign(self, a);
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        if matches!(l.pat, syn::Pat::Wild(_)) {
            return;
        }
        if let (syn::Pat::Ident(pi), Some(init)) = (&l.pat, &l.init) {
            if let Expr::MethodCall(mc) = peel(&init.expr) {
                if is_routing_chain(mc) {
                    let local = self.chain(&init.expr, Some(String::new()), 0);
                    self.vars.push((pi.ident.to_string(), local));
                    return;
                }
            }
            // `let v1 = v1::router(cfg).with_state(state);`: a router built by a function,
            // mounted later by name (`.nest("/api/v1", v1)`)
            if let Some(child) = built_by(&init.expr) {
                let at = self.sp.loc(pi.ident.span());
                let mut local = Local {
                    deferred: true,
                    ..Local::default()
                };
                local.edges.push(self.edge(child, &Some(String::new()), at));
                self.vars.push((pi.ident.to_string(), local));
                return;
            }
        }
        syn::visit::visit_local(self, l);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        let mut local = Local::default();
        if self.helper_call(c, &Some(String::new()), &mut local) {
            self.routes.extend(local.routes);
            return;
        }
        // `routes.append(&mut accounts::routes())`, `api::router()`: a function that builds
        // routes, called while building this one's (mounted here, under no prefix)
        if let Expr::Path(p) = peel(&c.func) {
            let last = super::syntax::last_ident(&p.path);
            if c.args.is_empty() && (last.ends_with("routes") || last.ends_with("router")) {
                let at = self.sp.loc(super::syntax::last_span(&p.path));
                self.edges
                    .push(self.edge(path_segments(&p.path), &Some(String::new()), at));
            }
        }
        syn::visit::visit_expr_call(self, c);
    }

    fn visit_expr_macro(&mut self, m: &'ast syn::ExprMacro) {
        // rocket `let mut r = routes![a, b];` outside a `.mount(…)`: handlers of this function's
        // routes (mounted wherever the function is)
        if super::syntax::last_ident(&m.mac.path) == "routes" {
            let parsed = m.mac.parse_body_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            );
            if let Ok(paths) = parsed {
                for path in paths {
                    let at = self.sp.loc(super::syntax::last_span(&path));
                    self.services.push(ServiceRef {
                        module: self.module.to_vec(),
                        parent_fn: self.router_fn.map(String::from),
                        handler: path_segments(&path),
                        prefix: String::new(),
                        layers: Vec::new(),
                        location: at,
                    });
                }
            }
            return;
        }
        syn::visit::visit_expr_macro(self, m);
    }

    fn visit_expr_method_call(&mut self, mc: &'ast ExprMethodCall) {
        if is_routing_chain(mc) {
            let local = self.chain(&Expr::MethodCall(mc.clone()), Some(String::new()), 0);
            self.routes.extend(local.routes);
            self.edges.extend(local.edges);
            self.services.extend(local.services);
            // closures inside registrations may hold loops etc., but no more routes
            return;
        }
        let m = mc.method.to_string();
        if matches!(m.as_str(), "layer" | "wrap" | "with" | "route_layer") && chain_root_is_var(mc)
        {
            let names = layer_names(&mc.args);
            let offset = self.sp.loc(mc.method.span()).offset;
            self.var_layers.push((offset, names));
        }
        syn::visit::visit_expr_method_call(self, mc);
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {
        // nested items are visited on their own
    }
}
