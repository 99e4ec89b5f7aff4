//! Per-file extraction: items the scan marked as relevant are parsed with syn and turned into
//! facts; the others contribute what resolution needs (function names, module declarations).

use std::collections::HashSet;

use idemgate_rules::model::rust::{
    Framework, IdempotentFn, KeySink, KeySource, LibraryUseKind, PolicyArg, PolicyArgs, Ttl,
    UnresolvedRegistration,
};
use idemgate_rules::model::{Exemption, ExemptionOrigin, ExemptionScope, FileError};
use idemgate_rules::{LineIndex, Location};
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Attribute, Block, Expr, Item, Signature, UseTree};

use super::attrs::{self, AttrKind};
use super::dataflow::{Locals, Words};
use super::facts::{
    crate_and_module, item_path, Call, CallTarget, EffectFn, FileFacts, FnDecl, LibUse, MacroCall,
    RawHandler, RawPolicy, RawRoute, RustFile, UseDecl,
};
use super::retries::{RetryScan, RETRY_CRATES};
use super::routes::Routes;
use super::scan::{flag, ItemKind, Scan};
use super::span::Spanner;
use super::syntax::{last_ident, last_span, path_segments};
use crate::source::SourceFile;

/// Macros that never register routes (skipped when looking for route-producing macros).
const COMMON_MACROS: &[&str] = &[
    "println",
    "print",
    "eprintln",
    "eprint",
    "format",
    "vec",
    "json",
    "info",
    "warn",
    "error",
    "debug",
    "trace",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "panic",
    "write",
    "writeln",
    "matches",
    "todo",
    "unimplemented",
    "unreachable",
    "bail",
    "anyhow",
    "ensure",
    "format_args",
    "concat",
    "include_str",
    "env",
    "select",
    "join",
    "pin",
    "dbg",
    "cfg",
    "stringify",
    "event",
    "span",
    "info_span",
    "debug_span",
    "routes",
    "macro_rules",
    "thread_local",
    "lazy_static",
    "try_join",
    "line",
    "file",
    "column",
];

/// With `full_syntax`, items that cannot matter are parsed too (only to report syntax errors).
pub fn extract(
    file: &SourceFile,
    index: &LineIndex,
    scan: Scan,
    full_syntax: bool,
) -> Result<RustFile, FileError> {
    let rel = file.rel().clone();
    let text = file.text.as_str();
    let (crate_key, module) = crate_and_module(&rel);
    let mut out = FileFacts {
        rel: rel.clone(),
        crate_key,
        module: module.clone(),
        text: std::sync::Arc::from(text),
        ..FileFacts::default()
    };
    // `// idemgate: allow(…)` comments and the line of code each one precedes
    let mut comment_targets: Vec<(usize, u32)> = Vec::new();
    for (i, c) in scan.comments.iter().enumerate() {
        let (line, _) = index.line_col(text, c.start);
        comment_targets.push((i, next_code_line(text, index, line)));
    }
    let target_lines: HashSet<u32> = comment_targets.iter().map(|(_, l)| *l).collect();
    let mut candidates: Vec<(u32, u32)> = Vec::new();
    let mut seen_mods: HashSet<(Vec<String>, String)> = HashSet::new();

    let mut whole = WholeFile::default();
    let file_sp = Spanner::new(&rel, text, index, 0);
    for chunk in &scan.items {
        let mut m = module.clone();
        for (i, name) in chunk.module.iter().enumerate() {
            let parent: Vec<String> = module
                .iter()
                .chain(chunk.module[..i].iter())
                .cloned()
                .collect();
            if seen_mods.insert((parent.clone(), name.clone())) {
                out.mods.push((parent, name.clone()));
            }
            m.push(name.clone());
        }
        let sp = Spanner::new(&rel, text, index, chunk.start);
        let start_line = index.line_col(text, chunk.start).0;
        let end_line = index
            .line_col(text, chunk.end.saturating_sub(1).max(chunk.start))
            .0;
        if target_lines.contains(&start_line) {
            candidates.push((start_line, end_line));
        }
        if !chunk.deep() {
            let name = chunk
                .name
                .and_then(|(s, e)| text.get(s..e).map(|n| (n.to_string(), s, e)));
            match (chunk.kind, name) {
                (ItemKind::Fn, Some((n, s, e))) => out.fns.push(FnDecl {
                    module: m,
                    owner: None,
                    name: n,
                    location: sp.bytes(s, e),
                    idempotent: false,
                    endpoint: false,
                    span: (chunk.start, chunk.end),
                }),
                // `#[cfg(test)] mod tests;` declares no production module
                (ItemKind::ModDecl, Some((n, _, _))) if chunk.flags & flag::TEST == 0 => {
                    out.mods.push((m, n))
                }
                (ItemKind::MacroCall, Some((n, s, e))) => {
                    // `cfg_if! { if #[cfg(x)] { mod a; } }`, `include!("opt.rs")`
                    let src = text.get(chunk.start..chunk.end).unwrap_or("");
                    if src.contains("mod ") || n == "include" {
                        macro_modules(&rel, &m, &n, src, &mut out);
                    }
                    out.macro_calls.push(MacroCall {
                        name: n,
                        location: sp.bytes(s, e),
                    })
                }
                (ItemKind::Impl, _) => {
                    let owner = chunk.impl_type.and_then(|(s, e)| text.get(s..e));
                    for method in &chunk.methods {
                        let (s, e) = method.name;
                        if let (Some(owner), Some(n)) = (owner, text.get(s..e)) {
                            out.fns.push(FnDecl {
                                module: m.clone(),
                                owner: Some(owner.to_string()),
                                name: n.to_string(),
                                location: sp.bytes(s, e),
                                idempotent: false,
                                endpoint: false,
                                span: method.span,
                            });
                        }
                    }
                }
                _ => {}
            }
            // Items that cannot matter are still parsed, so syntax errors anywhere are reported,
            // except the bodies of functions and impl blocks (most of the bytes of a crate) and
            // `#[cfg(test)]` code (a crate's tests often weigh as much as the rest): those are
            // bracket- and lexically checked by the scan, and fully parsed only with
            // `full_syntax`.
            let skimmed = matches!(chunk.kind, ItemKind::Fn | ItemKind::Impl)
                || chunk.flags & flag::TEST != 0;
            if full_syntax || !skimmed {
                let src = text.get(chunk.start..chunk.end).unwrap_or("");
                if syn::parse_str::<Item>(src).is_err() {
                    // Confirm on the whole file: the item split may be at fault, not the code.
                    whole
                        .get_or_parse(text)
                        .map_err(|e| syntax_error(&rel, &file_sp, e))?;
                }
            }
            continue;
        }
        let src = text.get(chunk.start..chunk.end).unwrap_or("");
        let parsed: Item;
        let (item, sp) = match syn::parse_str::<Item>(src) {
            Ok(i) => {
                parsed = i;
                (&parsed, sp)
            }
            Err(_) => {
                // Either the code is wrong (the whole file says where) or the item split is:
                // then take the item from the whole-file parse.
                let whole_file = whole
                    .get_or_parse(text)
                    .map_err(|e| syntax_error(&rel, &file_sp, e))?;
                match item_at(whole_file, index, text, chunk.start) {
                    Some(i) => (i, Spanner::new(&rel, text, index, 0)),
                    None => continue,
                }
            }
        };
        let mut ex = Extractor {
            sp: &sp,
            text,
            out: &mut out,
            module: m,
            targets: &target_lines,
            candidates: &mut candidates,
        };
        ex.item(item, Some((start_line, end_line)));
    }

    // the framework of attribute routes, from what the file imports
    let fw = if out
        .uses
        .iter()
        .any(|u| u.path.first().is_some_and(|s| s == "actix_web"))
    {
        Some(Framework::ActixWeb)
    } else if out
        .uses
        .iter()
        .any(|u| u.path.first().is_some_and(|s| s == "rocket"))
    {
        Some(Framework::Rocket)
    } else {
        None
    };
    if let Some(fw) = fw {
        for r in &mut out.routes {
            if r.framework == Framework::Attribute {
                r.framework = fw;
            }
        }
    }

    for (i, target) in comment_targets {
        let Some(c) = scan.comments.get(i) else {
            continue;
        };
        let end = candidates
            .iter()
            .filter(|(s, _)| *s == target)
            .map(|(_, e)| *e)
            .max()
            .unwrap_or(target);
        let (ids, reason) = parse_allow(&c.body);
        let location = index.location(&rel, text, c.start, c.end);
        for id in ids {
            out.exemptions.push(Exemption {
                rule: id,
                reason: reason.clone(),
                origin: ExemptionOrigin::Comment,
                location: location.clone(),
                scope: ExemptionScope::Lines {
                    file: rel.clone(),
                    start: target,
                    end,
                },
                report_unused: true,
            });
        }
    }
    Ok(RustFile(Box::new(out)))
}

/// Modules an item-level macro call declares (`mod a;` inside `cfg_if!`/`cfg_select!`) and
/// files it includes (`include!("opt.rs")`).
fn macro_modules(rel: &str, module: &[String], name: &str, src: &str, out: &mut FileFacts) {
    use proc_macro2::TokenTree;
    let Ok(tokens) = src.parse::<proc_macro2::TokenStream>() else {
        return;
    };
    if name == "include" {
        let mut lits = Vec::new();
        collect_literals(tokens, &mut lits, 0);
        if let Some(l) = lits.into_iter().next() {
            let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
            let joined = if dir.is_empty() {
                l
            } else {
                format!("{dir}/{l}")
            };
            let norm = super::workspace::normalize(std::path::Path::new(&joined));
            out.path_mods
                .push(norm.to_string_lossy().replace('\\', "/"));
        }
        return;
    }
    fn walk(ts: proc_macro2::TokenStream, module: &[String], out: &mut FileFacts, depth: u32) {
        if depth > 64 {
            return;
        }
        let toks: Vec<TokenTree> = ts.into_iter().collect();
        for (i, t) in toks.iter().enumerate() {
            match t {
                TokenTree::Ident(id) if id == "mod" => {
                    if let (Some(TokenTree::Ident(n)), Some(TokenTree::Punct(p))) =
                        (toks.get(i + 1), toks.get(i + 2))
                    {
                        if p.as_char() == ';' {
                            out.mods.push((module.to_vec(), n.to_string()));
                        }
                    }
                }
                TokenTree::Group(g) => walk(g.stream(), module, out, depth + 1),
                _ => {}
            }
        }
    }
    walk(tokens, module, out, 0);
}

fn collect_literals(ts: proc_macro2::TokenStream, out: &mut Vec<String>, depth: u32) {
    if depth > 16 {
        return;
    }
    for t in ts {
        match t {
            proc_macro2::TokenTree::Literal(l) => {
                if let Ok(s) = syn::parse_str::<syn::LitStr>(&l.to_string()) {
                    out.push(s.value());
                }
            }
            proc_macro2::TokenTree::Group(g) => collect_literals(g.stream(), out, depth + 1),
            _ => {}
        }
    }
}

/// The identifiers of a type, space-separated (`&mut web::ServiceConfig` → `web ServiceConfig`).
fn type_words(ty: &syn::Type) -> String {
    struct Words(String);
    impl<'ast> Visit<'ast> for Words {
        fn visit_ident(&mut self, i: &'ast proc_macro2::Ident) {
            if self.0.len() < 256 {
                self.0.push_str(&i.to_string());
                self.0.push(' ');
            }
        }
    }
    let mut w = Words(String::new());
    w.visit_type(ty);
    w.0
}

/// `allow(ID, ID2) reason: text` → ids and the reason (None when missing or blank).
fn parse_allow(body: &str) -> (Vec<String>, Option<String>) {
    let rest = body
        .trim_start()
        .strip_prefix("allow")
        .unwrap_or("")
        .trim_start();
    let Some(rest) = rest.strip_prefix('(') else {
        return (Vec::new(), None);
    };
    let (inside, after) = rest.split_once(')').unwrap_or((rest, ""));
    let ids = inside
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let reason = after
        .trim_start()
        .strip_prefix("reason")
        .map(|r| {
            r.trim_start()
                .trim_start_matches([':', '='])
                .trim()
                .trim_matches('"')
                .to_string()
        })
        .filter(|r| !r.is_empty());
    (ids, reason)
}

/// The first line after `line` holding code (not blank, not a comment).
fn next_code_line(text: &str, index: &LineIndex, line: u32) -> u32 {
    let mut l = line as usize + 1;
    while l <= index.line_count() && l < line as usize + 64 {
        let start = index.offset(text, l, 0);
        let end = if l < index.line_count() {
            index.offset(text, l + 1, 0)
        } else {
            text.len()
        };
        let s = text.get(start..end).unwrap_or("").trim();
        if !s.is_empty() && !s.starts_with("//") {
            return u32::try_from(l).unwrap_or(u32::MAX);
        }
        l += 1;
    }
    line + 1
}

struct Extractor<'a, 'b> {
    sp: &'a Spanner<'b>,
    text: &'b str,
    out: &'a mut FileFacts,
    module: Vec<String>,
    targets: &'a HashSet<u32>,
    candidates: &'a mut Vec<(u32, u32)>,
}

fn attrs_of(item: &Item) -> &[Attribute] {
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

impl Extractor<'_, '_> {
    fn lines_of(&self, node: &impl Spanned) -> (u32, u32) {
        let s = node.span();
        self.sp.lines(s, s)
    }

    fn exemptions(&mut self, attrs: &[Attribute], lines: (u32, u32)) {
        for a in attrs {
            let Some((ids, reason)) = attrs::exempt(a) else {
                continue;
            };
            let location = self
                .sp
                .range(a.pound_token.span, a.bracket_token.span.close());
            for id in ids {
                self.out.exemptions.push(Exemption {
                    rule: id,
                    reason: reason.clone(),
                    origin: ExemptionOrigin::Attribute,
                    location: location.clone(),
                    scope: ExemptionScope::Lines {
                        file: self.out.rel.clone(),
                        start: lines.0,
                        end: lines.1,
                    },
                    report_unused: true,
                });
            }
        }
    }

    /// Attribute macros that declare routes the gate cannot expand: GATE002, never dropped.
    fn route_tables(&mut self, attrs: &[Attribute]) {
        for a in attrs {
            if let Some(name) = attrs::route_table(a) {
                self.out.route_tables.push(UnresolvedRegistration {
                    location: self
                        .sp
                        .range(a.pound_token.span, a.bracket_token.span.close()),
                    method: None,
                    path: None,
                    text: format!("#[{name}]"),
                    reason: format!(
                        "routes declared by the attribute macro `#[{name}]` are not expanded"
                    ),
                });
            }
        }
    }

    fn item(&mut self, item: &Item, lines: Option<(u32, u32)>) {
        let lines = lines.unwrap_or_else(|| self.lines_of(item));
        self.exemptions(attrs_of(item), lines);
        self.route_tables(attrs_of(item));
        match item {
            Item::Fn(f) => self.function(&f.attrs, &f.sig, &f.block, None, lines),
            Item::Impl(i) => {
                let owner = match &*i.self_ty {
                    syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
                    _ => None,
                };
                for ii in &i.items {
                    if let syn::ImplItem::Fn(m) = ii {
                        let start = m
                            .attrs
                            .first()
                            .map_or(m.sig.fn_token.span, |a| a.pound_token.span);
                        let l = self.sp.lines(start, m.block.brace_token.span.close());
                        self.exemptions(&m.attrs, l);
                        self.route_tables(&m.attrs);
                        if self.targets.contains(&l.0) {
                            self.candidates.push(l);
                        }
                        self.function(&m.attrs, &m.sig, &m.block, owner.as_deref(), l);
                    }
                }
            }
            Item::Trait(t) => {
                let owner = t.ident.to_string();
                for ti in &t.items {
                    if let syn::TraitItem::Fn(m) = ti {
                        if let Some(block) = &m.default {
                            let start = m
                                .attrs
                                .first()
                                .map_or(m.sig.fn_token.span, |a| a.pound_token.span);
                            let l = self.sp.lines(start, block.brace_token.span.close());
                            self.exemptions(&m.attrs, l);
                            self.function(&m.attrs, &m.sig, block, Some(&owner), l);
                        }
                    }
                }
            }
            Item::Mod(m) => {
                for a in &m.attrs {
                    if let syn::Meta::NameValue(nv) = &a.meta {
                        if nv.path.is_ident("path") {
                            if let Expr::Lit(syn::ExprLit {
                                lit: syn::Lit::Str(l),
                                ..
                            }) = &nv.value
                            {
                                let dir = self.out.rel.rsplit_once('/').map_or("", |(d, _)| d);
                                let joined = if dir.is_empty() {
                                    l.value()
                                } else {
                                    format!("{dir}/{}", l.value())
                                };
                                let norm =
                                    super::workspace::normalize(std::path::Path::new(&joined));
                                self.out
                                    .path_mods
                                    .push(norm.to_string_lossy().replace('\\', "/"));
                            }
                        }
                    }
                }
                let name = m.ident.to_string();
                self.out.mods.push((self.module.clone(), name.clone()));
                if let Some((_, items)) = &m.content {
                    self.module.push(name);
                    for it in items {
                        let l = self.lines_of(it);
                        if self.targets.contains(&l.0) {
                            self.candidates.push(l);
                        }
                        self.item(it, Some(l));
                    }
                    self.module.pop();
                }
            }
            Item::Use(u) => {
                let mut prefix = Vec::new();
                let before = self.out.uses.len();
                self.use_tree(&u.tree, &mut prefix);
                // RETRY004: a `use` of a retry crate
                let mut roots: Vec<(String, String)> = Vec::new();
                for d in &self.out.uses[before..] {
                    if let Some(lib) = retry_library(&d.path) {
                        let root = d.path.first().cloned().unwrap_or_default();
                        if !roots.iter().any(|(r, _)| *r == root) {
                            roots.push((root, lib));
                        }
                    }
                }
                for (root, library) in roots {
                    let location = self.sp.range(u.use_token.span, u.semi_token.span);
                    self.out.lib_uses.push(LibUse {
                        module: self.module.clone(),
                        root,
                        library,
                        location,
                        kind: LibraryUseKind::Import,
                        function: None,
                        binds: Vec::new(),
                    });
                }
            }
            Item::ExternCrate(e) => {
                let name = e.ident.to_string();
                if RETRY_CRATES.contains(&name.as_str()) {
                    self.out.lib_uses.push(LibUse {
                        module: self.module.clone(),
                        root: name.clone(),
                        library: name,
                        location: self.sp.range(e.extern_token.span, e.semi_token.span),
                        kind: LibraryUseKind::Import,
                        function: None,
                        binds: Vec::new(),
                    });
                }
            }
            Item::Macro(m) => {
                let name = last_ident(&m.mac.path);
                if name == "macro_rules" {
                    if let Some(ident) = &m.ident {
                        let mut ids = Vec::new();
                        attrs::idents(m.mac.tokens.clone(), &mut ids);
                        let routing = ids.iter().any(|(i, _)| {
                            matches!(i.as_str(), "route" | "at" | "resource" | "service" | "nest")
                        });
                        if routing {
                            self.out.routing_macros.push(ident.to_string());
                        }
                    }
                } else if !COMMON_MACROS.contains(&name.as_str()) {
                    let at = last_span(&m.mac.path);
                    self.out.macro_calls.push(MacroCall {
                        name,
                        location: self.sp.loc(at),
                    });
                }
            }
            _ => {}
        }
    }

    fn use_tree(&mut self, t: &UseTree, prefix: &mut Vec<String>) {
        match t {
            UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(&p.tree, prefix);
                prefix.pop();
            }
            UseTree::Name(n) => {
                let ident = n.ident.to_string();
                let (name, path) = if ident == "self" {
                    (prefix.last().cloned().unwrap_or_default(), prefix.clone())
                } else {
                    let mut p = prefix.clone();
                    p.push(ident.clone());
                    (ident, p)
                };
                self.out.uses.push(UseDecl {
                    module: self.module.clone(),
                    name,
                    path,
                    glob: false,
                });
            }
            UseTree::Rename(r) => {
                let ident = r.ident.to_string();
                let mut path = prefix.clone();
                if ident != "self" {
                    path.push(ident);
                }
                self.out.uses.push(UseDecl {
                    module: self.module.clone(),
                    name: r.rename.to_string(),
                    path,
                    glob: false,
                });
            }
            UseTree::Glob(_) => self.out.uses.push(UseDecl {
                module: self.module.clone(),
                name: String::new(),
                path: prefix.clone(),
                glob: true,
            }),
            UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(t, prefix);
                }
            }
        }
    }

    fn function(
        &mut self,
        attrs: &[Attribute],
        sig: &Signature,
        block: &Block,
        owner: Option<&str>,
        lines: (u32, u32),
    ) {
        let name = sig.ident.to_string();
        let path = item_path(&self.module, owner, &name);
        let location = self.sp.loc(sig.ident.span());
        let idempotent = attrs.iter().any(attrs::is_idempotent);
        // from `fn` to the body's closing brace: parses alone as a `syn::ItemFn`
        let span = (
            self.sp.byte(sig.fn_token.span.start()),
            self.sp.byte(block.brace_token.span.close().end()),
        );
        self.out.fns.push(FnDecl {
            module: self.module.clone(),
            owner: owner.map(String::from),
            name: name.clone(),
            location: location.clone(),
            idempotent,
            endpoint: attrs.iter().any(|a| attrs::name(a) == "handler"),
            span,
        });

        for a in attrs {
            let attr_loc = || {
                self.sp
                    .range(a.pound_token.span, a.bracket_token.span.close())
            };
            if let Some(r) = attrs::route(a) {
                let framework = match r.kind {
                    AttrKind::PoemOpenApi => Framework::PoemOpenApi,
                    AttrKind::Utoipa => Framework::Utoipa,
                    AttrKind::Plain => Framework::Attribute,
                };
                for method in r.methods {
                    self.out.routes.push(RawRoute {
                        module: self.module.clone(),
                        router_fn: None,
                        method,
                        path: r.path.clone(),
                        framework,
                        registration: attr_loc(),
                        handler: RawHandler::Direct {
                            path: path.clone(),
                            location: location.clone(),
                            idempotent,
                        },
                        layers: Vec::new(),
                    });
                }
            }
            if attrs::is_idempotent(a) {
                let (key_header, ttl) = attrs::idempotent_contract(a);
                self.out.idempotent_fns.push(IdempotentFn {
                    location: location.clone(),
                    attribute: attr_loc(),
                    key_header,
                    ttl: ttl.map(|(text, s, e)| Ttl {
                        seconds: idemgate_rules::duration::parse_seconds(&text),
                        text,
                        location: self.sp.range(s, e),
                    }),
                });
                for arg in attrs::args(a) {
                    if !matches!(arg.key.as_deref(), Some("key" | "natural_key")) {
                        continue;
                    }
                    let mut ids = Vec::new();
                    attrs::idents(arg.tokens(), &mut ids);
                    if let Some((source, at)) = attrs::fresh_value(&ids) {
                        let end = ids
                            .get(at + 1)
                            .filter(|_| source.contains("::"))
                            .map_or(ids[at].1, |x| x.1);
                        self.out.key_sources.push(KeySource {
                            location: self.sp.range(ids[at].1, end),
                            source,
                            sink: KeySink::Attribute,
                            sink_location: attr_loc(),
                            function: path.clone(),
                        });
                    }
                }
            }
        }

        // router registrations in the body
        let params: Vec<(String, String)> = sig
            .inputs
            .iter()
            .filter_map(|a| match a {
                syn::FnArg::Typed(t) => match &*t.pat {
                    syn::Pat::Ident(pi) => Some((pi.ident.to_string(), type_words(&t.ty))),
                    _ => None,
                },
                syn::FnArg::Receiver(_) => None,
            })
            .collect();
        let mut routes = Routes::new(self.sp, &self.module, Some(&path), params);
        routes.visit_block(block);
        routes.finish();
        if let Some(owner) = owner {
            // `Self::create` inside `impl Api` is `Api::create`
            let fix = |segs: &mut Vec<String>| {
                if segs.first().is_some_and(|s| s == "Self") {
                    segs[0] = owner.to_string();
                }
            };
            for r in &mut routes.routes {
                if let RawHandler::Path(segs) = &mut r.handler {
                    fix(segs);
                }
            }
            routes.edges.iter_mut().for_each(|e| fix(&mut e.child));
            routes.services.iter_mut().for_each(|s| fix(&mut s.handler));
        }
        self.out.routes.extend(routes.routes);
        self.out.edges.extend(routes.edges);
        self.out.services.extend(routes.services);

        // retries
        let locals = Locals::collect(block);
        let mut retry = RetryScan::new(
            self.sp,
            self.text,
            &path,
            &name,
            sig.receiver().is_some(),
            &locals,
        );
        retry.params = sig
            .inputs
            .iter()
            .filter_map(|a| match a {
                syn::FnArg::Typed(t) => match &*t.pat {
                    syn::Pat::Ident(pi) => Some(pi.ident.to_string()),
                    _ => None,
                },
                syn::FnArg::Receiver(_) => None,
            })
            .collect();
        retry.visit_block(block);
        self.out.retry_sites.extend(retry.sites);

        // side effects, keys, calls, retry-crate paths
        let mut body = Body {
            sp: self.sp,
            module: &self.module,
            function: &path,
            locals: &locals,
            outbound: Vec::new(),
            keyed: false,
            calls: Vec::new(),
            key_sources: Vec::new(),
            lib_uses: Vec::new(),
            macro_calls: Vec::new(),
            local_retry_names: Vec::new(),
        };
        body.visit_block(block);
        self.out.key_sources.extend(body.key_sources);
        let keys = super::keys::compositions(self.sp, &path, attrs, sig, block);
        self.out.key_compositions.extend(keys);
        self.out.lib_uses.extend(body.lib_uses);
        self.out.macro_calls.extend(body.macro_calls);
        if let Some((what, _)) = body.outbound.first() {
            self.out.effects.push(EffectFn {
                path: path.clone(),
                what: what.clone(),
                keyed: body.keyed,
                idempotent,
            });
        }

        if let Some(a) = attrs.iter().find(|a| attrs::name(a) == "retry_policy") {
            self.out.policies.push(RawPolicy {
                module: self.module.clone(),
                owner: owner.map(String::from),
                path: path.clone(),
                location: location.clone(),
                attribute: self
                    .sp
                    .range(a.pound_token.span, a.bracket_token.span.close()),
                args: self.policy_args(a),
                idempotent,
                calls: body.calls,
                outbound: body.outbound,
                keyed: body.keyed,
            });
        }

        // statements a `// idemgate: allow` comment may precede
        if self.targets.iter().any(|l| *l >= lines.0 && *l <= lines.1) {
            let mut c = Candidates {
                sp: self.sp,
                targets: self.targets,
                out: Vec::new(),
            };
            c.visit_block(block);
            self.candidates.extend(c.out);
        }
    }

    fn policy_args(&self, a: &Attribute) -> PolicyArgs {
        let mut p = PolicyArgs::default();
        for arg in attrs::args(a) {
            let Some((s, e)) = arg.spans() else {
                continue;
            };
            let location = self.sp.range(s, e);
            let dur = |arg: &attrs::Arg| {
                arg.string()
                    .and_then(|s| idemgate_rules::duration::parse_millis(&s))
                    .or_else(|| arg.int())
                    .map(|value| PolicyArg {
                        value,
                        location: location.clone(),
                    })
            };
            let text = |arg: &attrs::Arg| {
                arg.string().or_else(|| arg.ident()).map(|value| PolicyArg {
                    value,
                    location: location.clone(),
                })
            };
            match arg.key.as_deref() {
                Some("max_attempts") => {
                    p.max_attempts = arg.int().map(|value| PolicyArg {
                        value,
                        location: location.clone(),
                    })
                }
                Some("base") => p.base_ms = dur(&arg),
                Some("cap") => p.cap_ms = dur(&arg),
                Some("max_elapsed") => p.max_elapsed_ms = dur(&arg),
                Some("jitter") => p.jitter = text(&arg),
                Some("budget") => p.budget = text(&arg),
                Some("breaker") => p.breaker = text(&arg),
                _ => {}
            }
        }
        p
    }
}

/// Which retry crate a path names, if any.
pub(super) fn retry_library(path: &[String]) -> Option<String> {
    let first = path.first()?;
    if RETRY_CRATES.contains(&first.as_str()) {
        return Some(first.clone());
    }
    if first == "tower" && path.get(1).is_some_and(|s| s == "retry") {
        return Some("tower::retry".into());
    }
    None
}

/// Spans of statements and registrations starting on a line an allow-comment precedes.
struct Candidates<'a, 'b> {
    sp: &'a Spanner<'b>,
    targets: &'a HashSet<u32>,
    out: Vec<(u32, u32)>,
}

impl<'ast> Visit<'ast> for Candidates<'_, '_> {
    fn visit_stmt(&mut self, s: &'ast syn::Stmt) {
        let span = s.span();
        let l = self.sp.lines(span, span);
        if self.targets.contains(&l.0) {
            self.out.push(l);
        }
        syn::visit::visit_stmt(self, s);
    }
    fn visit_expr_method_call(&mut self, mc: &'ast syn::ExprMethodCall) {
        let l = self
            .sp
            .lines(mc.dot_token.span, mc.paren_token.span.close());
        if self.targets.contains(&l.0) {
            self.out.push(l);
        }
        syn::visit::visit_expr_method_call(self, mc);
    }
}

/// Side effects, idempotency keys, calls and retry-crate paths in a function body.
struct Body<'a, 'b, 'ast> {
    sp: &'a Spanner<'b>,
    module: &'a [String],
    function: &'a str,
    locals: &'a Locals<'ast>,
    outbound: Vec<(String, Location)>,
    keyed: bool,
    calls: Vec<Call>,
    key_sources: Vec<KeySource>,
    lib_uses: Vec<LibUse>,
    macro_calls: Vec<MacroCall>,
    /// Names a `use` inside this function binds from a retry crate.
    local_retry_names: Vec<String>,
}

fn mentions_idempotency(s: &str) -> bool {
    s.len() >= 11 && s.to_ascii_lowercase().contains("idempotency")
}

fn routing_receiver(e: &Expr) -> bool {
    match super::syntax::peel_await(e) {
        Expr::Call(c) => {
            matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| attrs::METHODS.contains(&s.ident.to_string().as_str()) || s.ident == "on"))
        }
        Expr::MethodCall(m) => {
            attrs::METHODS.contains(&m.method.to_string().as_str())
                && m.args.len() == 1
                && matches!(
                    super::syntax::peel_await(&m.receiver),
                    Expr::Call(_) | Expr::MethodCall(_)
                )
                && routing_receiver(&m.receiver)
        }
        _ => false,
    }
}

impl<'ast> Body<'_, '_, 'ast> {
    fn key_sink(&mut self, name: &Expr, value: &Expr, sink: Location) {
        let n = Words::of(name);
        let is_key = n.strings.iter().any(|s| mentions_idempotency(s))
            || n.idents.iter().any(|(i, _)| mentions_idempotency(i));
        if !is_key {
            return;
        }
        let w = Words::of(value);
        let mut found = attrs::fresh_value(&w.idents).map(|(s, i)| (s, i, w.idents.clone()));
        if found.is_none() {
            self.locals
                .flow(&w, 3, false, |_, x| match attrs::fresh_value(&x.idents) {
                    Some((s, i)) => {
                        found = Some((s, i, x.idents));
                        std::ops::ControlFlow::Break(())
                    }
                    None => std::ops::ControlFlow::Continue(()),
                });
        }
        if let Some((source, at, ids)) = found {
            let end = if source.contains("::") {
                ids.get(at + 1).map_or(ids[at].1, |x| x.1)
            } else {
                ids[at].1
            };
            self.key_sources.push(KeySource {
                location: self.sp.range(ids[at].1, end),
                source,
                sink: KeySink::Header,
                sink_location: sink,
                function: self.function.to_string(),
            });
        }
    }
}

impl<'ast> Visit<'ast> for Body<'_, '_, 'ast> {
    fn visit_expr_method_call(&mut self, mc: &'ast syn::ExprMethodCall) {
        let m = mc.method.to_string();
        let loc = || self.sp.loc(mc.method.span());
        if (m == "post" || m == "patch") && mc.args.len() == 1 && !routing_receiver(&mc.receiver) {
            self.outbound
                .push((format!("outbound {}", m.to_ascii_uppercase()), loc()));
        }
        if m == "method" && mc.args.len() == 1 {
            let w = Words::of(&mc.args[0]);
            if w.idents.iter().any(|(i, _)| i == "POST" || i == "PATCH")
                || w.strings
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case("post") || s.eq_ignore_ascii_case("patch"))
            {
                self.outbound.push((
                    "outbound request with a side-effecting method".into(),
                    loc(),
                ));
            }
        }
        if matches!(m.as_str(), "retry" | "retry_notify") && mc.args.len() == 1 {
            // backon: `op.retry(builder)`, a retry when the file imports `Retryable`
            self.lib_uses.push(LibUse {
                module: self.module.to_vec(),
                root: "Retryable".into(),
                library: String::new(),
                location: self.sp.range(mc.method.span(), mc.paren_token.span.close()),
                kind: LibraryUseKind::Invocation,
                function: Some(self.function.to_string()),
                binds: Vec::new(),
            });
        }
        if matches!(super::syntax::peel_await(&mc.receiver), Expr::Path(p) if p.path.is_ident("self"))
        {
            self.calls.push(Call {
                target: CallTarget::SelfMethod(m.clone()),
                location: self.sp.range(mc.method.span(), mc.paren_token.span.close()),
            });
        }
        if matches!(
            m.as_str(),
            "header" | "insert" | "append" | "set" | "try_insert" | "header_opt" | "typed_header"
        ) && mc.args.len() >= 2
        {
            let sink = self.sp.range(mc.method.span(), mc.paren_token.span.close());
            self.key_sink(&mc.args[0], &mc.args[1], sink);
        }
        syn::visit::visit_expr_method_call(self, mc);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Expr::Path(p) = super::syntax::peel_await(&c.func) {
            let segs = path_segments(&p.path);
            let last = segs.last().map(String::as_str).unwrap_or("");
            if (last == "post" || last == "patch")
                && segs.len() >= 2
                && !matches!(
                    segs[0].as_str(),
                    "web" | "routing" | "axum" | "poem" | "actix_web"
                )
            {
                let at = last_span(&p.path);
                self.outbound.push((
                    format!("outbound {}", last.to_ascii_uppercase()),
                    self.sp.loc(at),
                ));
            }
            let retry_call = self.retry_call(&p.path, &segs);
            self.calls.push(Call {
                target: CallTarget::Path(segs),
                location: self.sp.range(c.func.span(), c.paren_token.span.close()),
            });
            if retry_call {
                // the path itself is this use; its arguments may hold more
                for a in &c.args {
                    self.visit_expr(a);
                }
                return;
            }
        }
        syn::visit::visit_expr_call(self, c);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        let n = p.path.segments.len();
        if n >= 2 {
            let last = p.path.segments[n - 1].ident.to_string();
            if (last == "POST" || last == "PATCH") && p.path.segments[n - 2].ident == "Method" {
                let at = p.path.segments[n - 1].ident.span();
                self.outbound
                    .push((format!("outbound {last}"), self.sp.loc(at)));
            }
        }
        syn::visit::visit_expr_path(self, p);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.segments.len() >= 2 && p.leading_colon.is_none() || p.leading_colon.is_some() {
            let segs = path_segments(p);
            if segs.len() >= 2 {
                if let Some(library) = retry_library(&segs) {
                    let first = p
                        .segments
                        .first()
                        .map_or_else(Span::call_site, |s| s.ident.span());
                    let last = p.segments.last().map_or(first, |s| s.ident.span());
                    self.lib_uses.push(LibUse {
                        module: self.module.to_vec(),
                        root: segs[0].clone(),
                        library,
                        location: self.sp.range(first, last),
                        kind: LibraryUseKind::Support,
                        function: Some(self.function.to_string()),
                        binds: Vec::new(),
                    });
                }
            }
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_ident(&mut self, i: &'ast proc_macro2::Ident) {
        if !self.keyed && mentions_idempotency(&i.to_string()) {
            self.keyed = true;
        }
    }

    fn visit_lit_str(&mut self, l: &'ast syn::LitStr) {
        if !self.keyed && mentions_idempotency(&l.value()) {
            self.keyed = true;
        }
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let name = last_ident(&m.path);
        if !COMMON_MACROS.contains(&name.as_str()) {
            let at = last_span(&m.path);
            self.macro_calls.push(MacroCall {
                name,
                location: self.sp.loc(at),
            });
        }
        syn::visit::visit_macro(self, m);
    }

    fn visit_item(&mut self, i: &'ast Item) {
        // `use backon::Retryable;` inside the function
        if let Item::Use(u) = i {
            let mut names = Vec::new();
            use_names(&u.tree, &mut Vec::new(), &mut names);
            let binds: Vec<(String, String)> = names
                .into_iter()
                .filter_map(|(name, path)| retry_library(&path).map(|lib| (name, lib)))
                .collect();
            self.local_retry_names
                .extend(binds.iter().map(|(n, _)| n.clone()));
            if let Some((_, lib)) = binds.first() {
                self.lib_uses.push(LibUse {
                    module: self.module.to_vec(),
                    root: lib.split("::").next().unwrap_or("").to_string(),
                    library: lib.clone(),
                    location: self.sp.range(u.use_token.span, u.semi_token.span),
                    kind: LibraryUseKind::Import,
                    function: Some(self.function.to_string()),
                    binds,
                });
            }
        }
    }
}

impl Body<'_, '_, '_> {
    /// Records a call that runs or configures a retry crate: a path into the crate
    /// (`backoff::future::retry(…)`), or a name the file may import from one (`Retry::spawn`,
    /// `retry(…)`, `ExponentialBuilder::default()`; kept only if it is imported, at link time).
    fn retry_call(&mut self, path: &syn::Path, segs: &[String]) -> bool {
        let last = segs.last().map(String::as_str).unwrap_or("");
        let kind = if super::facts::RETRY_INVOCATIONS.contains(&last) {
            LibraryUseKind::Invocation
        } else {
            LibraryUseKind::Support
        };
        let crate_path = segs.len() >= 2 || path.leading_colon.is_some();
        let (root, library) = match retry_library(segs).filter(|_| crate_path) {
            Some(lib) => (segs[0].clone(), lib),
            None if segs.len() <= 2
                && path.leading_colon.is_none()
                && (super::facts::RETRY_NAMES.contains(&segs[0].as_str())
                    || self.local_retry_names.iter().any(|n| *n == segs[0])) =>
            {
                (segs[0].clone(), String::new())
            }
            None => return false,
        };
        let first = path
            .segments
            .first()
            .map_or_else(Span::call_site, |s| s.ident.span());
        let end = path.segments.last().map_or(first, |s| s.ident.span());
        self.lib_uses.push(LibUse {
            module: self.module.to_vec(),
            root,
            library,
            location: self.sp.range(first, end),
            kind,
            function: Some(self.function.to_string()),
            binds: Vec::new(),
        });
        true
    }
}

/// The names a `use` tree binds, with their paths.
fn use_names(t: &UseTree, prefix: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    match t {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_names(&p.tree, prefix, out);
            prefix.pop();
        }
        UseTree::Name(n) => {
            let mut p = prefix.clone();
            p.push(n.ident.to_string());
            out.push((n.ident.to_string(), p));
        }
        UseTree::Rename(r) => {
            let mut p = prefix.clone();
            p.push(r.ident.to_string());
            out.push((r.rename.to_string(), p));
        }
        UseTree::Glob(_) => out.push(("*".into(), prefix.clone())),
        UseTree::Group(g) => {
            for t in &g.items {
                use_names(t, prefix, out);
            }
        }
    }
}

fn syntax_error(rel: &std::sync::Arc<str>, sp: &Spanner<'_>, e: &syn::Error) -> FileError {
    let location = sp.loc(e.span());
    FileError {
        file: rel.clone(),
        message: format!(
            "cannot parse Rust: {e} (line {}, column {})",
            location.line, location.column
        ),
        location: Some(location),
    }
}

/// The whole file parsed with syn, on demand: only when an item does not parse on its own
/// (a syntax error, reported where the whole-file parse puts it; or an item split the scan
/// got wrong, which must not be reported on valid code).
#[derive(Default)]
struct WholeFile {
    parsed: Option<Result<syn::File, syn::Error>>,
}

impl WholeFile {
    fn get_or_parse(&mut self, text: &str) -> Result<&syn::File, &syn::Error> {
        self.parsed
            .get_or_insert_with(|| syn::parse_file(text))
            .as_ref()
    }
}

/// The item of `file` (parsed whole) that starts at byte `start` of `text`, searching inline
/// modules too.
fn item_at<'f>(
    file: &'f syn::File,
    index: &LineIndex,
    text: &str,
    start: usize,
) -> Option<&'f Item> {
    fn find<'f>(
        items: &'f [Item],
        index: &LineIndex,
        text: &str,
        start: usize,
    ) -> Option<&'f Item> {
        for item in items {
            let span = syn::spanned::Spanned::span(item);
            let (b, e) = (span.start(), span.end());
            let from = index.offset(text, b.line, b.column);
            let to = index.offset(text, e.line, e.column);
            if from == start {
                return Some(item);
            }
            if from < start && start < to {
                if let Item::Mod(m) = item {
                    if let Some((_, inner)) = &m.content {
                        return find(inner, index, text, start);
                    }
                }
            }
        }
        None
    }
    find(&file.items, index, text, start)
}
