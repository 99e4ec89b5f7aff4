//! Cross-file and cross-crate linking: every scanned crate's module tree (from file paths,
//! `mod` declarations, `use` imports and re-exports) goes into one [`Resolver`]; path
//! dependencies of the Cargo workspace connect the crates. Handler paths are resolved there,
//! routers mounted under their prefixes and middleware, and retry policies linked to what they
//! call.

use std::collections::HashMap;
use std::path::Path;

use idemgate_rules::model::rust::{
    BudgetExceeded, Handler, HandlerEffects, HandlerFn, PolicyCall, PolicyFn, Route, SideEffect,
    UnresolvedRegistration,
};
use idemgate_rules::{Context, Location, Model};

use super::effects::{pure_method, pure_path, write_path, Callee, Resolution, Summary};
use super::facts::{item_path, CallTarget, FileFacts, FnDecl, RawHandler, RustFile};
use super::resolve::{CrateId, Def, FnId, ModId, Resolved, Resolver};
use super::workspace::{normalize, Workspace};

/// Default resolution steps per crate before GATE003 (far above what any real crate needs).
pub const DEFAULT_BUDGET: u64 = 5_000_000;

/// Where a router function is mounted: prefix and layers, per mount.
type Mounts = Vec<(String, Vec<String>)>;

/// Who mounts a router function or service: (parent function, prefix, layers).
type MountedBy = Vec<(Option<FnId>, String, Vec<String>)>;

/// Mount points per function, computed once each.
struct MountGraph {
    parents: HashMap<FnId, MountedBy>,
    memo: HashMap<FnId, Mounts>,
}

/// At most this many distinct mounts are kept per router function.
const MAX_MOUNTS: usize = 16;

impl MountGraph {
    fn mounts(&mut self, f: Option<FnId>) -> Mounts {
        let mut visiting = Vec::new();
        self.mounts_inner(f, &mut visiting)
    }

    fn mounts_inner(&mut self, f: Option<FnId>, visiting: &mut Vec<FnId>) -> Mounts {
        let root = vec![(String::new(), Vec::new())];
        let Some(f) = f else {
            return root;
        };
        if let Some(m) = self.memo.get(&f) {
            return m.clone();
        }
        if visiting.contains(&f) || visiting.len() > 32 {
            return root;
        }
        let Some(ps) = self.parents.get(&f).cloned() else {
            return root;
        };
        visiting.push(f);
        let mut out: Mounts = Vec::new();
        'all: for (parent, prefix, layers) in ps {
            for (pp, pl) in self.mounts_inner(parent, visiting) {
                let mut l = pl;
                l.extend(layers.iter().cloned());
                let m = (join(&pp, &prefix), l);
                if !out.contains(&m) {
                    out.push(m);
                }
                if out.len() >= MAX_MOUNTS {
                    break 'all;
                }
            }
        }
        visiting.pop();
        if out.is_empty() {
            out = root;
        }
        self.memo.insert(f, out.clone());
        out
    }
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        return b.to_string();
    }
    if b.is_empty() {
        return a.to_string();
    }
    format!("{}/{}", a.trim_end_matches('/'), b.trim_start_matches('/'))
}

/// Everything linking needs besides the files.
pub struct LinkInput<'a> {
    /// The folder report paths are relative to (crate folders are found from it).
    pub root: &'a Path,
    pub workspace: &'a Workspace,
    /// Resolution steps per crate before GATE003.
    pub budget: u64,
}

/// The tables built from all files: crates, modules, functions.
struct Tables {
    r: Resolver,
    crates: HashMap<String, CrateId>,
    fns: Vec<(CrateId, FnDecl)>,
    by_path: HashMap<(CrateId, String), FnId>,
}

impl Tables {
    fn module_of(&mut self, krate: CrateId, module: &[String]) -> ModId {
        self.r.module(krate, module)
    }

    fn path_of(&self, f: FnId) -> String {
        let (_, d) = &self.fns[f];
        item_path(&d.module, d.owner.as_deref(), &d.name)
    }

    fn fn_at(&self, krate: CrateId, path: Option<&str>) -> Option<FnId> {
        path.and_then(|p| self.by_path.get(&(krate, p.to_string())).copied())
    }
}

/// The outcome of resolving a handler-like path.
enum Target {
    Fn(FnId),
    Unresolved(String),
    Budget,
}

fn target(t: &mut Tables, krate: CrateId, module: &[String], segs: &[String]) -> Target {
    let m = t.module_of(krate, module);
    let text = segs.join("::");
    match t.r.resolve(m, segs) {
        Resolved::Found(Def::Fn(f)) => Target::Fn(f),
        Resolved::Found(Def::Module(_)) => {
            Target::Unresolved(format!("`{text}` names a module or type, not a function"))
        }
        Resolved::External(c) => Target::Unresolved(format!(
            "`{text}` is in crate `{c}`, which is not part of the scan"
        )),
        Resolved::NotFound => {
            Target::Unresolved(format!("no function `{text}` found in the scanned crates"))
        }
        Resolved::Budget => Target::Budget,
    }
}

fn build_tables(files: &[FileFacts], input: &LinkInput<'_>) -> Tables {
    let mut t = Tables {
        r: Resolver::new(input.budget),
        crates: HashMap::new(),
        fns: Vec::new(),
        by_path: HashMap::new(),
    };
    for f in files {
        if !t.crates.contains_key(&f.crate_key) {
            let id = t.r.add_crate();
            t.crates.insert(f.crate_key.clone(), id);
        }
    }
    connect_crates(&mut t, input);
    for f in files {
        let Some(&c) = t.crates.get(&f.crate_key) else {
            continue;
        };
        t.r.module(c, &f.module);
        for (parent, name) in &f.mods {
            let mut child = parent.clone();
            child.push(name.clone());
            t.r.module(c, &child);
        }
        for u in &f.uses {
            let m = t.r.module(c, &u.module);
            if u.glob {
                t.r.add_glob(m, u.path.clone());
            } else if !u.name.is_empty() && u.name != "_" {
                t.r.add_use(m, &u.name, u.path.clone());
            }
        }
    }
    for f in files {
        let Some(&c) = t.crates.get(&f.crate_key) else {
            continue;
        };
        for d in &f.fns {
            let mut m = d.module.clone();
            if let Some(o) = &d.owner {
                m.push(o.clone());
            }
            let id = t.fns.len();
            let path = item_path(&d.module, d.owner.as_deref(), &d.name);
            t.by_path.entry((c, path)).or_insert(id);
            t.fns.push((c, d.clone()));
            let module = t.r.module(c, &m);
            t.r.add_fn(module, &d.name, id);
        }
    }
    t
}

/// Connects each crate to the scanned crates it depends on (Cargo path dependencies, by the
/// names code uses for them) and to its own library.
fn connect_crates(t: &mut Tables, input: &LinkInput<'_>) {
    // package folder → the crate id of its library (its `src/` crate)
    let mut libs: HashMap<std::path::PathBuf, CrateId> = HashMap::new();
    let mut package_of: Vec<(CrateId, std::path::PathBuf)> = Vec::new();
    for (key, &id) in &t.crates {
        let abs = normalize(&input.root.join(key));
        let dir = if key.ends_with(".rs") {
            abs.parent().and_then(|p| input.workspace.package_dir(p))
        } else {
            input.workspace.package_dir(&abs)
        };
        let Some(dir) = dir else {
            continue;
        };
        if !key.ends_with(".rs") && dir == abs {
            libs.insert(dir.clone(), id);
        }
        package_of.push((id, dir));
    }
    package_of.sort_by_key(|(id, _)| *id);
    for (id, dir) in package_of {
        let Some(pkg) = input.workspace.package(&dir) else {
            continue;
        };
        // a binary, example or test of the package names the package's library
        if let (Some(name), Some(&lib)) = (&pkg.lib_name, libs.get(&dir)) {
            t.r.add_dep(id, name, lib);
        }
        for d in &pkg.deps {
            match d.path.as_ref().and_then(|p| libs.get(p)) {
                Some(&lib) => {
                    t.r.add_dep(id, &d.name, lib);
                    // without a rename, code names the dependency by its library name
                    if let Some(lib_name) = d
                        .path
                        .as_ref()
                        .and_then(|p| input.workspace.package(p))
                        .and_then(|p| p.lib_name.clone())
                    {
                        t.r.add_dep(id, &lib_name, lib);
                    }
                }
                None => t.r.add_external(id, &d.name),
            }
        }
    }
}

pub fn link(files: Vec<RustFile>, input: &LinkInput<'_>, ctx: &Context, model: &mut Model) {
    let files: Vec<FileFacts> = files.into_iter().map(|f| *f.0).collect();
    let mut t = build_tables(&files, input);
    let mut budget: Vec<BudgetExceeded> = Vec::new();
    let mut over_budget = |f: &FileFacts, location: &Location, text: String| {
        budget.push(BudgetExceeded {
            location: location.clone(),
            krate: f.crate_key.clone(),
            text,
        });
    };

    // nested routers, configured services and mounted handlers
    let mut graph = MountGraph {
        parents: HashMap::new(),
        memo: HashMap::new(),
    };
    let mut services: HashMap<FnId, MountedBy> = HashMap::new();
    for f in &files {
        let Some(&c) = t.crates.get(&f.crate_key) else {
            continue;
        };
        for e in &f.edges {
            match target(&mut t, c, &e.module, &e.child) {
                Target::Fn(i) => {
                    let parent = t.fn_at(c, e.parent_fn.as_deref());
                    graph.parents.entry(i).or_default().push((
                        parent,
                        e.prefix.clone(),
                        e.layers.clone(),
                    ));
                }
                Target::Budget => over_budget(f, &e.location, e.child.join("::")),
                Target::Unresolved(_) => {}
            }
        }
        for s in &f.services {
            match target(&mut t, c, &s.module, &s.handler) {
                Target::Fn(i) => {
                    let parent = t.fn_at(c, s.parent_fn.as_deref());
                    services.entry(i).or_default().push((
                        parent,
                        s.prefix.clone(),
                        s.layers.clone(),
                    ));
                }
                Target::Budget => over_budget(f, &s.location, s.handler.join("::")),
                Target::Unresolved(_) => {}
            }
        }
    }

    // handlers whose effects IDEM001 reports: (route index, handler)
    let mut to_classify: Vec<(usize, FnId)> = Vec::new();
    let routing_macros: std::collections::HashSet<(String, String)> = files
        .iter()
        .flat_map(|f| {
            f.routing_macros
                .iter()
                .map(|m| (f.crate_key.clone(), m.clone()))
        })
        .collect();

    // Each handler path resolved once, per file and route: the handlers a router registers
    // (their `#[utoipa::path]` attribute only documents them) must be known before the
    // routes are built.
    let mut targets: Vec<Vec<Option<Target>>> = Vec::with_capacity(files.len());
    let mut router_handlers: std::collections::HashSet<FnId> = Default::default();
    for f in &files {
        let c = t.crates.get(&f.crate_key).copied();
        let mut of_file = Vec::with_capacity(f.routes.len());
        for r in &f.routes {
            let resolved = match (&r.handler, c) {
                (RawHandler::Path(segs), Some(c)) => Some(target(&mut t, c, &r.module, segs)),
                _ => None,
            };
            if let Some(Target::Fn(i)) = resolved {
                router_handlers.insert(i);
            }
            of_file.push(resolved);
        }
        targets.push(of_file);
    }
    for (f, mut targets) in files.iter().zip(targets) {
        let Some(&c) = t.crates.get(&f.crate_key) else {
            continue;
        };
        for (ri, r) in f.routes.iter().enumerate() {
            if r.framework == idemgate_rules::model::rust::Framework::Utoipa {
                if let RawHandler::Direct { path, .. } = &r.handler {
                    if t.fn_at(c, Some(path))
                        .is_some_and(|i| router_handlers.contains(&i))
                    {
                        continue;
                    }
                }
            }
            let mut method = r.method.clone();
            let (handler, handler_fn) = match &r.handler {
                RawHandler::Direct {
                    path,
                    location,
                    idempotent,
                } => (
                    Handler::Resolved(HandlerFn {
                        path: path.clone(),
                        location: location.clone(),
                        idempotent: *idempotent,
                        effects: HandlerEffects::NotAnalysed,
                    }),
                    t.fn_at(c, Some(path)),
                ),
                RawHandler::Closure => (Handler::Closure, None),
                RawHandler::Unresolved { text, reason } => (
                    Handler::Unresolved {
                        text: text.clone(),
                        reason: reason.clone(),
                    },
                    None,
                ),
                RawHandler::Path(segs) => match targets
                    .get_mut(ri)
                    .and_then(Option::take)
                    .unwrap_or_else(|| target(&mut t, c, &r.module, segs))
                {
                    Target::Fn(i) => {
                        let d = &t.fns[i].1;
                        if method == super::facts::ANY_METHOD && !d.endpoint {
                            // `.at(path, x)` where `x` is not a `#[handler]`: a method router
                            // built elsewhere
                            (
                                Handler::Unresolved {
                                    text: segs.join("::"),
                                    reason: "the method router is built elsewhere".into(),
                                },
                                None,
                            )
                        } else {
                            (
                                Handler::Resolved(HandlerFn {
                                    path: t.path_of(i),
                                    location: d.location.clone(),
                                    idempotent: d.idempotent,
                                    effects: HandlerEffects::NotAnalysed,
                                }),
                                Some(i),
                            )
                        }
                    }
                    Target::Unresolved(reason) => (
                        Handler::Unresolved {
                            text: segs.join("::"),
                            reason: if method == super::facts::ANY_METHOD {
                                "the endpoint or method router is built elsewhere".into()
                            } else {
                                reason
                            },
                        },
                        None,
                    ),
                    Target::Budget => {
                        over_budget(f, &r.registration, segs.join("::"));
                        continue;
                    }
                },
            };
            if method == super::facts::ANY_METHOD {
                method = match &handler {
                    Handler::Resolved(_) => "ANY".to_string(),
                    _ => String::new(),
                };
            }
            // where the route is mounted
            let router_fn = t.fn_at(c, r.router_fn.as_deref());
            let mut mounts = graph.mounts(router_fn);
            if let Some(refs) = handler_fn.and_then(|h| services.get(&h)).cloned() {
                mounts = Vec::new();
                for (parent, prefix, layers) in refs {
                    for (pp, pl) in graph.mounts(parent) {
                        let mut l = pl;
                        l.extend(layers.iter().cloned());
                        mounts.push((join(&pp, &prefix), l));
                    }
                }
            }
            let covering = |extra: &[String]| {
                r.layers
                    .iter()
                    .chain(extra)
                    .find(|n| ctx.is_idempotency_layer(n))
                    .cloned()
            };
            let covers: Vec<Option<String>> = mounts.iter().map(|(_, l)| covering(l)).collect();
            let covered_by_layer = if covers.iter().all(Option::is_some) {
                covers.into_iter().flatten().next()
            } else {
                None
            };
            let path = match (&r.path, mounts.first()) {
                (Some(p), Some((prefix, _))) => Some(join(prefix, p)),
                (p, _) => p.clone(),
            };
            if let Handler::Unresolved { text, reason } = &handler {
                let m = (!method.is_empty()).then(|| method.clone());
                if m.as_deref().is_none_or(|m| ctx.is_side_effecting(m))
                    && covered_by_layer.is_none()
                {
                    model.rust.unresolved.push(UnresolvedRegistration {
                        location: r.registration.clone(),
                        method: m.clone(),
                        path: path.clone(),
                        text: text.clone(),
                        reason: reason.clone(),
                    });
                }
                if m.is_none() {
                    continue;
                }
            }
            if let (Handler::Resolved(h), Some(i)) = (&handler, handler_fn) {
                if !h.idempotent && covered_by_layer.is_none() && ctx.is_side_effecting(&method) {
                    to_classify.push((model.rust.routes.len(), i));
                }
            }
            model.rust.routes.push(Route {
                method,
                path,
                framework: r.framework,
                registration: r.registration.clone(),
                handler,
                covered_by_layer,
            });
        }
        for m in &f.macro_calls {
            let same_line =
                model.rust.unresolved.iter().any(|u| {
                    u.location.file == m.location.file && u.location.line == m.location.line
                });
            if !same_line && routing_macros.contains(&(f.crate_key.clone(), m.name.clone())) {
                model.rust.unresolved.push(UnresolvedRegistration {
                    location: m.location.clone(),
                    method: None,
                    path: None,
                    text: format!("{}!", m.name),
                    reason: format!(
                        "routes produced by the `macro_rules!` macro `{}!` are not expanded",
                        m.name
                    ),
                });
            }
        }
        model.rust.unresolved.extend(f.route_tables.iter().cloned());
        model.rust.retry_sites.extend(f.retry_sites.iter().cloned());
        model.rust.key_sources.extend(f.key_sources.iter().cloned());
        model
            .rust
            .idempotent_fns
            .extend(f.idempotent_fns.iter().cloned());
        model
            .key_compositions
            .extend(f.key_compositions.iter().cloned());
        // names the file imports from retry crates (module level, and `use` inside functions)
        let mut imported: HashMap<String, String> = HashMap::new();
        for u in &f.uses {
            if let Some(lib) = super::extract::retry_library(&u.path) {
                let name = if u.glob {
                    "*".to_string()
                } else {
                    u.name.clone()
                };
                imported.insert(name, lib);
            }
        }
        for u in &f.lib_uses {
            for (name, lib) in &u.binds {
                imported.insert(name.clone(), lib.clone());
            }
        }
        for u in &f.lib_uses {
            let library = if u.library.is_empty() {
                // a call through a name: a use only when the file imports it from a retry crate
                // (`Retryable` stands for backon's method `.retry(…)`)
                match imported.get(&u.root).or_else(|| imported.get("*")) {
                    Some(lib) => lib.clone(),
                    None => continue,
                }
            } else {
                // a local module of the same name shadows the crate
                let m = t.module_of(c, &u.module);
                let root = t.module_of(c, &[]);
                let local = |t: &mut Tables, m: ModId| {
                    matches!(
                        t.r.resolve(m, std::slice::from_ref(&u.root)),
                        Resolved::Found(Def::Module(x)) if t.r.crate_of(x) == c
                    )
                };
                if local(&mut t, m) || local(&mut t, root) {
                    continue;
                }
                u.library.clone()
            };
            model
                .rust
                .retry_library_uses
                .push(idemgate_rules::model::rust::RetryLibraryUse {
                    library,
                    location: u.location.clone(),
                    module: item_path(&u.module, None, "")
                        .trim_end_matches("::")
                        .to_string(),
                    kind: u.kind,
                    function: u.function.clone(),
                });
        }
    }

    classify_handlers(&files, &mut t, &to_classify, model);
    link_policies(&files, &mut t, model);
    model.rust.budget_exceeded.extend(budget);
    for f in files {
        model.exemptions.extend(f.exemptions);
    }
}

/// Retry policies: calls to other policies (nesting) and to side-effecting functions.
fn link_policies(files: &[FileFacts], t: &mut Tables, model: &mut Model) {
    let mut policy_attrs: HashMap<FnId, Location> = HashMap::new();
    for f in files {
        let Some(&c) = t.crates.get(&f.crate_key) else {
            continue;
        };
        for p in &f.policies {
            if let Some(i) = t.fn_at(c, Some(&p.path)) {
                policy_attrs.insert(i, p.attribute.clone());
            }
        }
    }
    let mut effects: HashMap<FnId, &super::facts::EffectFn> = HashMap::new();
    for f in files {
        let Some(&c) = t.crates.get(&f.crate_key) else {
            continue;
        };
        for e in &f.effects {
            if let Some(i) = t.fn_at(c, Some(&e.path)) {
                effects.insert(i, e);
            }
        }
    }
    for f in files {
        let Some(&c) = t.crates.get(&f.crate_key) else {
            continue;
        };
        for p in &f.policies {
            let mut nested = Vec::new();
            let mut side_effects = Vec::new();
            if !p.idempotent && !p.keyed {
                for (what, loc) in &p.outbound {
                    side_effects.push(SideEffect {
                        description: what.clone(),
                        location: loc.clone(),
                    });
                }
            }
            let own = t.fn_at(c, Some(&p.path));
            for call in &p.calls {
                let callee = match &call.target {
                    CallTarget::Path(segs) => match target(t, c, &p.module, segs) {
                        Target::Fn(i) => Some(i),
                        _ => None,
                    },
                    CallTarget::SelfMethod(m) => {
                        let path = item_path(&p.module, p.owner.as_deref(), m);
                        t.fn_at(c, Some(&path))
                    }
                };
                let Some(callee) = callee else {
                    continue;
                };
                if Some(callee) == own {
                    continue;
                }
                let callee_path = t.path_of(callee);
                if let Some(attr) = policy_attrs.get(&callee) {
                    nested.push(PolicyCall {
                        callee: callee_path.clone(),
                        location: call.location.clone(),
                        callee_attribute: attr.clone(),
                    });
                }
                if let Some(e) = effects.get(&callee) {
                    if !e.keyed && !e.idempotent && !p.idempotent {
                        side_effects.push(SideEffect {
                            description: format!(
                                "call to `{callee_path}` ({} without an idempotency key)",
                                e.what
                            ),
                            location: call.location.clone(),
                        });
                    }
                }
            }
            model.rust.policies.push(PolicyFn {
                path: p.path.clone(),
                location: p.location.clone(),
                attribute: p.attribute.clone(),
                args: p.args.clone(),
                idempotent: p.idempotent,
                nested,
                side_effects,
            });
        }
    }
}

/// What each side-effecting handler does (IDEM001): its body and the bodies it calls are parsed
/// here, on demand, whatever the scan decided to parse.
fn classify_handlers(
    files: &[FileFacts],
    t: &mut Tables,
    handlers: &[(usize, FnId)],
    model: &mut Model,
) {
    if handlers.is_empty() {
        return;
    }
    let mut methods: HashMap<String, Vec<FnId>> = HashMap::new();
    for (i, (_, d)) in t.fns.iter().enumerate() {
        if d.owner.is_some() {
            methods.entry(d.name.clone()).or_default().push(i);
        }
    }
    let mut bodies = Bodies {
        t,
        files,
        file_of: files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.rel.clone(), i))
            .collect(),
        summaries: HashMap::new(),
        methods,
        wanted: Default::default(),
    };
    // Parsing the bodies is most of the work, and it is done in parallel: each round
    // classifies every handler with the bodies parsed so far, noting those it reached but
    // has not read; the round after reads them all at once. A round that reaches no new
    // body classified with every body it needed: its results are final, and the same as one
    // serial pass parsing on demand.
    let mut memo = HashMap::new();
    let effects = loop {
        memo.clear();
        let effects: Vec<_> = handlers
            .iter()
            .map(|&(_, f)| super::effects::classify(&mut bodies, f, &mut memo))
            .collect();
        if bodies.wanted.is_empty() {
            break effects;
        }
        bodies.read_wanted();
    };
    for (&(route, _), effects) in handlers.iter().zip(effects) {
        if let Some(Route {
            handler: Handler::Resolved(h),
            ..
        }) = model.rust.routes.get_mut(route)
        {
            h.effects = effects;
        }
    }
}

/// Function bodies parsed on demand, and calls resolved, for [`super::effects::classify`].
struct Bodies<'a> {
    t: &'a mut Tables,
    files: &'a [FileFacts],
    file_of: HashMap<std::sync::Arc<str>, usize>,
    summaries: HashMap<FnId, Option<std::rc::Rc<Summary>>>,
    /// Functions reached whose bodies are not read yet: the next round reads them.
    wanted: std::collections::HashSet<FnId>,
    /// Methods of the scanned crates, by name.
    methods: HashMap<String, Vec<FnId>>,
}

/// A function's file and byte span.
type FnText<'a> = (&'a FileFacts, (usize, usize));

/// The summary of the function at `span` of `file`; `None` when it does not parse alone.
fn summarize_fn(file: &FileFacts, (start, end): (usize, usize)) -> Option<Summary> {
    let item = syn::parse_str::<syn::ItemFn>(file.text.get(start..end)?).ok();
    let summary = item.map(|item| {
        let sp = super::span::Spanner::new(&file.rel, &file.text, &file.index, start);
        super::effects::summarize(&sp, &item.sig, &item.block)
    });
    // its spans are `Location`s now (see `super::parse`)
    proc_macro2::extra::invalidate_current_thread_spans();
    summary
}

/// Counts the parameters other than `self` in `<…>(a: A, b: impl Fn(X) -> Y)`, the text that
/// follows a function's name; `None` when it does not read as a parameter list.
fn signature_arity(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut angle = 0i32;
    // generics before the parameters
    while i < bytes.len() {
        match bytes[i] {
            b'<' => angle += 1,
            b'>' if i > 0 && bytes[i - 1] == b'-' => {}
            b'>' => angle -= 1,
            b'(' if angle == 0 => break,
            b'{' | b';' => return None,
            _ => {}
        }
        i += 1;
    }
    if bytes.get(i) != Some(&b'(') {
        return None;
    }
    let start = i + 1;
    let mut depth = 0i32;
    let mut params: Vec<&str> = Vec::new();
    let mut seg = start;
    i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' | b'{' | b'<' => depth += 1,
            b'>' if i > 0 && matches!(bytes[i - 1], b'-' | b'=') => {}
            b')' | b']' | b'}' | b'>' if depth > 0 => depth -= 1,
            b')' => {
                params.push(text.get(seg..i)?);
                break;
            }
            b',' if depth == 0 => {
                params.push(text.get(seg..i)?);
                seg = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if i >= bytes.len() {
        return None;
    }
    Some(
        params
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .filter(|p| {
                let p = p.trim_start_matches('&').trim_start();
                let p = match p.strip_prefix('\'') {
                    Some(rest) => rest
                        .trim_start_matches(|c: char| c.is_alphanumeric() || c == '_')
                        .trim_start(),
                    None => p,
                };
                let p = p.strip_prefix("mut ").map_or(p, str::trim_start);
                !(p == "self"
                    || p.starts_with("self:")
                    || p.starts_with("self ")
                    || p.starts_with("self,"))
            })
            .count(),
    )
}

/// A method name defined by more types than this is not followed (unknown).
const MAX_METHOD_CANDIDATES: usize = 6;

impl super::effects::Lookup for Bodies<'_> {
    type Id = FnId;

    fn summary(&mut self, f: FnId) -> Option<std::rc::Rc<Summary>> {
        match self.summaries.get(&f) {
            Some(s) => s.clone(),
            None => {
                // read in the next round; unreadable until then
                self.wanted.insert(f);
                None
            }
        }
    }

    fn resolve(&mut self, from: FnId, callee: &Callee) -> Resolution<FnId> {
        let (c, d) = &self.t.fns[from];
        let (c, module, owner) = (*c, d.module.clone(), d.owner.clone());
        match callee {
            Callee::Path(segs) => {
                let mut segs = segs.clone();
                if let (Some(first), Some(o)) = (segs.first_mut(), &owner) {
                    if first == "Self" {
                        *first = o.clone();
                    }
                }
                match target(self.t, c, &module, &segs) {
                    Target::Fn(i) => Resolution::Fns(vec![i]),
                    _ => match write_path(&segs) {
                        Some(what) => Resolution::Write(what),
                        None if pure_path(&segs) => Resolution::Pure,
                        None => Resolution::Unknown(format!(
                            "calls `{}`, which the gate cannot see",
                            segs.join("::")
                        )),
                    },
                }
            }
            Callee::SelfMethod(m) => {
                let path = item_path(&module, owner.as_deref(), m);
                if let Some(i) = self.t.fn_at(c, Some(&path)) {
                    return Resolution::Fns(vec![i]);
                }
                self.method(m, None)
            }
            Callee::Method(m, n) => self.method(m, Some(*n)),
        }
    }

    fn name(&self, f: FnId) -> String {
        self.t.path_of(f)
    }

    fn location(&self, f: FnId) -> idemgate_rules::Location {
        self.t.fns[f].1.location.clone()
    }
}

impl Bodies<'_> {
    /// Parses the bodies of the [`Bodies::wanted`] functions, in parallel.
    fn read_wanted(&mut self) {
        use rayon::prelude::*;
        let wanted = std::mem::take(&mut self.wanted);
        let files = self.files;
        // each function with its file and span
        let jobs: Vec<(FnId, Option<FnText<'_>>)> = wanted
            .iter()
            .map(|&f| {
                let d = &self.t.fns[f].1;
                let at = self
                    .file_of
                    .get(&d.location.file)
                    .map(|&fi| (&files[fi], d.span));
                (f, at)
            })
            .collect();
        let read: Vec<(FnId, Option<Summary>)> = jobs
            .into_par_iter()
            .map(|(f, at)| (f, at.and_then(|(file, span)| summarize_fn(file, span))))
            .collect();
        for (f, s) in read {
            self.summaries.insert(f, s.map(std::rc::Rc::new));
        }
    }

    /// The number of non-`self` parameters of a function, read from the text after its name.
    fn arity_of(&self, f: FnId) -> Option<usize> {
        let d = &self.t.fns[f].1;
        let file = &self.files[*self.file_of.get(&d.location.file)?];
        let after = file.text.get(d.location.offset + d.location.len..)?;
        signature_arity(after)
    }

    fn method(&mut self, m: &str, args: Option<usize>) -> Resolution<FnId> {
        use super::effects::Lookup;
        let pure = pure_method(m);
        let mut ids = self.methods.get(m).cloned();
        // only the methods that take as many arguments as the call passes
        if let (Some(all), Some(n)) = (&mut ids, args) {
            if all.len() <= 4 * MAX_METHOD_CANDIDATES {
                // the arity from the signature's text: parsing each candidate's whole `impl`
                // just to count its parameters cost more than the rest of the classification
                all.retain(|&i| match self.arity_of(i) {
                    Some(a) => a == n,
                    None => self.summary(i).is_none_or(|s| s.arity == n),
                });
            }
        }
        match ids.filter(|ids| !ids.is_empty()) {
            // a common name (`get`, `clone`) many types define: the std one is meant, mostly
            Some(ids) if pure && ids.len() > MAX_METHOD_CANDIDATES => Resolution::Pure,
            Some(ids) if ids.len() <= MAX_METHOD_CANDIDATES => Resolution::Fns(ids),
            Some(ids) => Resolution::Unknown(format!(
                "calls `.{m}(…)`, which {} types of the workspace define",
                ids.len()
            )),
            None if pure => Resolution::Pure,
            None => Resolution::Unknown(format!("calls `.{m}(…)`, which the gate cannot see")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::signature_arity;

    #[test]
    fn counts_parameters_other_than_self() {
        assert_eq!(signature_arity("(&self) -> u8 {"), Some(0));
        assert_eq!(
            signature_arity("(&'a mut self, x: u8, y: Vec<(u8, u8)>) {"),
            Some(2)
        );
        assert_eq!(
            signature_arity("<F: Fn(u8) -> u8>(self, f: F) -> Self {"),
            Some(1)
        );
        assert_eq!(
            signature_arity("(f: impl Fn(A, B) -> C, m: HashMap<K, V>,) {"),
            Some(2)
        );
        assert_eq!(signature_arity("() {"), Some(0));
        assert_eq!(signature_arity(" {"), None);
    }
}
