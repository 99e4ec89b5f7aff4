//! Cross-file resolution: builds each crate's module tree (from file paths, `mod` declarations,
//! `use` imports and re-exports), resolves handler paths, mounts nested routers under their
//! prefixes and layers, and links retry policies to what they call.

use std::collections::{HashMap, HashSet};

use idemgate_rules::model::rust::{
    Handler, HandlerFn, PolicyCall, PolicyFn, Route, SideEffect, UnresolvedRegistration,
};
use idemgate_rules::{Context, Model};

use super::facts::{item_path, CallTarget, FileFacts, FnDecl, RawHandler, RustFile, UseDecl};

#[derive(Default)]
struct ModTable {
    fns: HashMap<String, usize>,
    children: HashSet<String>,
    uses: Vec<UseDecl>,
}

#[derive(Default)]
struct Tables {
    crates: HashMap<String, HashMap<Vec<String>, ModTable>>,
    fns: Vec<FnDecl>,
}

const MAX_HOPS: u32 = 12;

impl Tables {
    fn module(&mut self, krate: &str, path: &[String]) -> &mut ModTable {
        let mods = self.crates.entry(krate.to_string()).or_default();
        for i in 0..path.len() {
            mods.entry(path[..i].to_vec())
                .or_default()
                .children
                .insert(path[i].clone());
        }
        mods.entry(path.to_vec()).or_default()
    }

    fn resolve(
        &self,
        krate: &str,
        module: &[String],
        segs: &[String],
        depth: u32,
    ) -> Option<usize> {
        if depth > MAX_HOPS || segs.is_empty() {
            return None;
        }
        let first = segs[0].as_str();
        let mut base = module.to_vec();
        let mut i = 0;
        match first {
            "crate" => {
                base.clear();
                i = 1;
            }
            "self" => i = 1,
            "super" => {
                while segs.get(i).is_some_and(|s| s == "super") {
                    base.pop();
                    i += 1;
                }
            }
            _ => {}
        }
        let rest = &segs[i..];
        if let Some(r) = self.resolve_in(krate, &base, rest, depth) {
            return Some(r);
        }
        // 2015-style paths from the crate root
        if i == 0 && !module.is_empty() {
            return self.resolve_in(krate, &[], rest, depth);
        }
        None
    }

    fn resolve_in(
        &self,
        krate: &str,
        module: &[String],
        rest: &[String],
        depth: u32,
    ) -> Option<usize> {
        if depth > MAX_HOPS || rest.is_empty() {
            return None;
        }
        let m = self.crates.get(krate)?.get(module)?;
        if rest.len() == 1 {
            if let Some(&i) = m.fns.get(&rest[0]) {
                return Some(i);
            }
        } else if m.children.contains(&rest[0]) {
            let mut sub = module.to_vec();
            sub.push(rest[0].clone());
            if let Some(r) = self.resolve_in(krate, &sub, &rest[1..], depth + 1) {
                return Some(r);
            }
        }
        for u in m.uses.iter().filter(|u| !u.glob && u.name == rest[0]) {
            let mut p = u.path.clone();
            p.extend(rest[1..].iter().cloned());
            if let Some(r) = self.resolve(krate, module, &p, depth + 1) {
                return Some(r);
            }
        }
        for u in m.uses.iter().filter(|u| u.glob) {
            let mut p = u.path.clone();
            p.extend(rest.iter().cloned());
            if let Some(r) = self.resolve(krate, module, &p, depth + 1) {
                return Some(r);
            }
        }
        None
    }

    fn path_of(&self, i: usize) -> String {
        let f = &self.fns[i];
        item_path(&f.module, f.owner.as_deref(), &f.name)
    }

    fn has_module(&self, krate: &str, module: &[String], name: &str) -> bool {
        let Some(mods) = self.crates.get(krate) else {
            return false;
        };
        mods.get(module).is_some_and(|m| m.children.contains(name))
            || mods
                .get(&Vec::new())
                .is_some_and(|m| m.children.contains(name))
    }
}

/// Where a router function is mounted: prefix and layers, per mount.
type Mounts = Vec<(String, Vec<String>)>;

/// Who mounts a router function or service: (parent function, prefix, layers).
type MountedBy = Vec<(Option<String>, String, Vec<String>)>;

struct MountGraph {
    /// (crate, child fn path) → (crate-local parent fn, prefix, layers)
    parents: HashMap<(String, String), MountedBy>,
}

impl MountGraph {
    fn mounts(&self, krate: &str, f: Option<&str>, depth: u32) -> Mounts {
        let root = vec![(String::new(), Vec::new())];
        let Some(f) = f else {
            return root;
        };
        if depth > 8 {
            return root;
        }
        let Some(ps) = self.parents.get(&(krate.to_string(), f.to_string())) else {
            return root;
        };
        let mut out = Vec::new();
        for (parent, prefix, layers) in ps {
            for (pp, pl) in self.mounts(krate, parent.as_deref(), depth + 1) {
                let mut l = pl.clone();
                l.extend(layers.iter().cloned());
                out.push((join(&pp, prefix), l));
                if out.len() >= 16 {
                    return out;
                }
            }
        }
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

pub fn link(files: Vec<RustFile>, ctx: &Context, model: &mut Model) {
    let files: Vec<FileFacts> = files.into_iter().map(|f| *f.0).collect();
    let mut t = Tables::default();
    for f in &files {
        t.module(&f.crate_key, &f.module);
        for (parent, name) in &f.mods {
            t.module(&f.crate_key, parent).children.insert(name.clone());
            let mut child = parent.clone();
            child.push(name.clone());
            t.module(&f.crate_key, &child);
        }
        for u in &f.uses {
            t.module(&f.crate_key, &u.module).uses.push(u.clone());
        }
    }
    for f in &files {
        for d in &f.fns {
            let mut m = d.module.clone();
            if let Some(o) = &d.owner {
                m.push(o.clone());
            }
            let i = t.fns.len();
            t.fns.push(d.clone());
            t.module(&f.crate_key, &m).fns.insert(d.name.clone(), i);
        }
    }

    // nested routers and mounted services
    let mut graph = MountGraph {
        parents: HashMap::new(),
    };
    let mut services: HashMap<(String, String), MountedBy> = HashMap::new();
    for f in &files {
        for e in &f.edges {
            if let Some(i) = t.resolve(&f.crate_key, &e.module, &e.child, 0) {
                graph
                    .parents
                    .entry((f.crate_key.clone(), t.path_of(i)))
                    .or_default()
                    .push((e.parent_fn.clone(), e.prefix.clone(), e.layers.clone()));
            }
        }
        for s in &f.services {
            if let Some(i) = t.resolve(&f.crate_key, &s.module, &s.handler, 0) {
                services
                    .entry((f.crate_key.clone(), t.path_of(i)))
                    .or_default()
                    .push((s.parent_fn.clone(), s.prefix.clone(), s.layers.clone()));
            }
        }
    }

    let routing_macros: HashSet<(String, String)> = files
        .iter()
        .flat_map(|f| {
            f.routing_macros
                .iter()
                .map(|m| (f.crate_key.clone(), m.clone()))
        })
        .collect();

    let rust = &mut model.rust;
    for f in &files {
        for r in &f.routes {
            let (handler, handler_path) = match &r.handler {
                RawHandler::Direct {
                    path,
                    location,
                    idempotent,
                } => (
                    Handler::Resolved(HandlerFn {
                        path: path.clone(),
                        location: location.clone(),
                        idempotent: *idempotent,
                    }),
                    Some(path.clone()),
                ),
                RawHandler::Closure => (Handler::Closure, None),
                RawHandler::Unresolved { text, reason } => (
                    Handler::Unresolved {
                        text: text.clone(),
                        reason: reason.clone(),
                    },
                    None,
                ),
                RawHandler::Path(segs) => match t.resolve(&f.crate_key, &r.module, segs, 0) {
                    Some(i) => {
                        let d = &t.fns[i];
                        (
                            Handler::Resolved(HandlerFn {
                                path: t.path_of(i),
                                location: d.location.clone(),
                                idempotent: d.idempotent,
                            }),
                            None,
                        )
                    }
                    None => {
                        let text = segs.join("::");
                        (
                            Handler::Unresolved {
                                reason: format!("no function `{text}` found in the scanned crate"),
                                text,
                            },
                            None,
                        )
                    }
                },
            };
            // where the route is mounted
            let mut mounts = graph.mounts(&f.crate_key, r.router_fn.as_deref(), 0);
            if let Some(hp) = &handler_path {
                if let Some(refs) = services.get(&(f.crate_key.clone(), hp.clone())) {
                    mounts = Vec::new();
                    for (parent, prefix, layers) in refs {
                        for (pp, pl) in graph.mounts(&f.crate_key, parent.as_deref(), 0) {
                            let mut l = pl;
                            l.extend(layers.iter().cloned());
                            mounts.push((join(&pp, prefix), l));
                        }
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
                let method = (!r.method.is_empty()).then(|| r.method.clone());
                if method.as_deref().is_none_or(|m| ctx.is_side_effecting(m))
                    && covered_by_layer.is_none()
                {
                    rust.unresolved.push(UnresolvedRegistration {
                        location: r.registration.clone(),
                        method: method.clone(),
                        path: path.clone(),
                        text: text.clone(),
                        reason: reason.clone(),
                    });
                }
                if method.is_none() {
                    continue;
                }
            }
            rust.routes.push(Route {
                method: r.method.clone(),
                path,
                framework: r.framework,
                registration: r.registration.clone(),
                handler,
                covered_by_layer,
            });
        }
        for m in &f.macro_calls {
            let same_line = rust
                .unresolved
                .iter()
                .any(|u| u.location.file == m.location.file && u.location.line == m.location.line);
            if !same_line && routing_macros.contains(&(f.crate_key.clone(), m.name.clone())) {
                rust.unresolved.push(UnresolvedRegistration {
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
        rust.retry_sites.extend(f.retry_sites.iter().cloned());
        rust.key_sources.extend(f.key_sources.iter().cloned());
        model.key_compositions.extend(f.key_compositions.iter().cloned());
        for u in &f.lib_uses {
            if t.has_module(&f.crate_key, &u.module, &u.root) {
                continue;
            }
            rust.retry_library_uses
                .push(idemgate_rules::model::rust::RetryLibraryUse {
                    library: u.library.clone(),
                    location: u.location.clone(),
                    module: item_path(&u.module, None, "")
                        .trim_end_matches("::")
                        .to_string(),
                });
        }
    }

    // retry policies: nesting and side effects
    let mut policy_attrs: HashMap<(String, String), idemgate_rules::Location> = HashMap::new();
    for f in &files {
        for p in &f.policies {
            policy_attrs.insert((f.crate_key.clone(), p.path.clone()), p.attribute.clone());
        }
    }
    let mut effects: HashMap<(String, String), &super::facts::EffectFn> = HashMap::new();
    for f in &files {
        for e in &f.effects {
            effects.insert((f.crate_key.clone(), e.path.clone()), e);
        }
    }
    for f in &files {
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
            for c in &p.calls {
                let callee = match &c.target {
                    CallTarget::Path(segs) => t
                        .resolve(&f.crate_key, &p.module, segs, 0)
                        .map(|i| t.path_of(i)),
                    CallTarget::SelfMethod(m) => Some(item_path(&p.module, p.owner.as_deref(), m)),
                };
                let Some(callee) = callee else {
                    continue;
                };
                if callee == p.path {
                    continue;
                }
                let key = (f.crate_key.clone(), callee.clone());
                if let Some(attr) = policy_attrs.get(&key) {
                    nested.push(PolicyCall {
                        callee: callee.clone(),
                        location: c.location.clone(),
                        callee_attribute: attr.clone(),
                    });
                }
                if let Some(e) = effects.get(&key) {
                    if !e.keyed && !e.idempotent && !p.idempotent {
                        side_effects.push(SideEffect {
                            description: format!(
                                "call to `{callee}` ({} without an idempotency key)",
                                e.what
                            ),
                            location: c.location.clone(),
                        });
                    }
                }
            }
            rust.policies.push(PolicyFn {
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

    for f in files {
        model.exemptions.extend(f.exemptions);
    }
}
