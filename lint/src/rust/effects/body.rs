//! The effects of one function body, from its syntax alone: what it writes, what it calls (for
//! the linker to follow) and what the gate cannot read.

use std::collections::HashSet;

use idemgate_rules::Location;
use proc_macro2::{TokenStream, TokenTree};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Block, Expr, Signature, Token};

use super::words::{
    reporting_macro, sql_write, EXPR_MACROS, MUTATING_METHODS, SQL_MACROS, WRITE_FNS, WRITE_METHODS,
};
use super::{Callee, Summary};
use crate::rust::span::Spanner;
use crate::rust::syntax::{last_ident, path_segments, peel_await};

/// Collects the [`Summary`] of one function.
pub fn summarize(sp: &Spanner<'_>, sig: &Signature, block: &Block) -> Summary {
    let mut v = Effects {
        sp,
        out: Summary::default(),
        shared: HashSet::new(),
        params: HashSet::new(),
        depth: 0,
    };
    for a in &sig.inputs {
        // `&self` can only change what sits behind a lock, an atomic or a concurrent map:
        // shared; `&mut self` and `self` change the caller's own value
        if let syn::FnArg::Receiver(r) = a {
            if r.reference.is_some() && r.mutability.is_none() {
                v.shared.insert("self".to_string());
            }
        }
        if let syn::FnArg::Typed(t) = a {
            let ty = type_idents(&t.ty);
            // request data arrives by value: changing it changes nothing outside
            let by_value = ty.iter().any(|w| {
                matches!(
                    w.as_str(),
                    "Json" | "Form" | "Query" | "Path" | "Multipart" | "Bytes"
                )
            });
            let mutable_ref = matches!(&*t.ty, syn::Type::Reference(r) if r.mutability.is_some());
            let shared = !by_value
                && !mutable_ref
                && (matches!(&*t.ty, syn::Type::Reference(_))
                    || ty.iter().any(|w| {
                        matches!(
                            w.as_str(),
                            "State"
                                | "Data"
                                | "Extension"
                                | "Arc"
                                | "Mutex"
                                | "RwLock"
                                | "DashMap"
                                | "Pool"
                                | "Sender"
                                | "Client"
                        )
                    }));
            let mut names = Vec::new();
            pat_idents(&t.pat, &mut names);
            if shared {
                v.shared.extend(names.iter().cloned());
            }
            v.params.extend(names);
        }
    }
    v.out.arity = sig
        .inputs
        .iter()
        .filter(|a| matches!(a, syn::FnArg::Typed(_)))
        .count();
    v.visit_block(block);
    v.out
}

/// The identifiers of a type, in order (`State AppState` for `State<AppState>`).
fn type_idents(ty: &syn::Type) -> Vec<String> {
    struct Idents(Vec<String>);
    impl<'ast> Visit<'ast> for Idents {
        fn visit_ident(&mut self, i: &'ast proc_macro2::Ident) {
            if self.0.len() < 32 {
                self.0.push(i.to_string());
            }
        }
    }
    let mut w = Idents(Vec::new());
    w.visit_type(ty);
    w.0
}

fn pat_idents(p: &syn::Pat, out: &mut Vec<String>) {
    match p {
        syn::Pat::Ident(i) => out.push(i.ident.to_string()),
        syn::Pat::TupleStruct(t) => t.elems.iter().for_each(|e| pat_idents(e, out)),
        syn::Pat::Tuple(t) => t.elems.iter().for_each(|e| pat_idents(e, out)),
        syn::Pat::Reference(r) => pat_idents(&r.pat, out),
        syn::Pat::Type(t) => pat_idents(&t.pat, out),
        syn::Pat::Struct(s) => s.fields.iter().for_each(|f| pat_idents(&f.pat, out)),
        _ => {}
    }
}

struct Effects<'a, 'b> {
    sp: &'a Spanner<'b>,
    out: Summary,
    /// Names whose mutation changes shared state: `self`, state parameters, lock guards.
    shared: HashSet<String>,
    /// The function's parameters.
    params: HashSet<String>,
    depth: u32,
}

/// The variable an expression starts from (`state` in `state.items.lock().insert(…)`), and
/// whether a lock or mutable borrow is taken on the way.
fn root_of(e: &Expr) -> (Option<String>, bool) {
    let mut e = e;
    let mut locked = false;
    loop {
        match peel_await(e) {
            Expr::Field(f) => e = &f.base,
            Expr::Index(i) => e = &i.expr,
            Expr::Try(t) => e = &t.expr,
            Expr::Unary(u) => e = &u.expr,
            Expr::MethodCall(m) => {
                let n = m.method.to_string();
                if matches!(
                    n.as_str(),
                    "lock" | "write" | "borrow_mut" | "lock_owned" | "write_owned" | "get_mut"
                ) {
                    locked = true;
                }
                e = &m.receiver;
            }
            Expr::Path(p) => {
                let id = p.path.segments.last().map(|s| s.ident.to_string());
                return (id, locked);
            }
            _ => return (None, locked),
        }
    }
}

/// Whether an expression builds a copy rather than a handle (`state.items.clone()`).
fn copies(e: &Expr) -> bool {
    matches!(peel_await(e), Expr::MethodCall(m) if matches!(m.method.to_string().as_str(),
        "clone" | "to_vec" | "to_owned" | "collect" | "to_string" | "cloned" | "len" | "iter"))
}

impl Effects<'_, '_> {
    fn write(&mut self, what: impl Into<String>, loc: Location) {
        self.out.writes.push((what.into(), loc));
    }

    fn is_shared(&self, root: &Option<String>) -> bool {
        root.as_ref().is_some_and(|r| {
            self.shared.contains(r)
                || (r.len() > 1 && r.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        })
    }

    fn literal(&mut self, s: &str, loc: impl FnOnce() -> Location) {
        if s.len() >= 8 {
            if let Some(w) = sql_write(s) {
                self.write(w, loc());
            }
        }
    }

    /// A macro's tokens when they are not expressions: SQL strings and write-method names
    /// decide; anything else is unknown.
    fn opaque_macro(&mut self, name: &str, tokens: TokenStream, at: Location) {
        let mut found = false;
        scan_tokens(tokens, &mut |t| match t {
            TokenTree::Literal(l) => {
                let s = l.to_string();
                if let Some(w) = sql_write(s.trim_matches(|c| c == '"' || c == 'r' || c == '#')) {
                    self.out.writes.push((w, self.sp.loc(l.span())));
                    found = true;
                }
            }
            TokenTree::Ident(i) => {
                let s = i.to_string();
                if let Some((_, what)) =
                    WRITE_METHODS.iter().chain(WRITE_FNS).find(|(m, _)| *m == s)
                {
                    self.out.writes.push((
                        format!("{what} (`{s}` in `{name}!`)"),
                        self.sp.loc(i.span()),
                    ));
                    found = true;
                }
            }
            _ => {}
        });
        if !found {
            self.out.unknown.push((
                format!("uses the macro `{name}!`, which the gate does not read"),
                at,
            ));
        }
    }
}

fn scan_tokens(ts: TokenStream, f: &mut impl FnMut(&TokenTree)) {
    for t in ts {
        if let TokenTree::Group(g) = &t {
            scan_tokens(g.stream(), f);
        } else {
            f(&t);
        }
    }
}

impl<'ast> Visit<'ast> for Effects<'_, '_> {
    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let Some(init) = &l.init {
            let (root, locked) = root_of(&init.expr);
            let handle = locked
                || (self.is_shared(&root)
                    && !copies(&init.expr)
                    && matches!(peel_await(&init.expr), Expr::Reference(r) if r.mutability.is_some()));
            if handle {
                let mut names = Vec::new();
                pat_idents(&l.pat, &mut names);
                self.shared.extend(names);
            }
        }
        syn::visit::visit_local(self, l);
    }

    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        let (root, locked) = root_of(&a.left);
        let target_is_place =
            !matches!(peel_await(&a.left), Expr::Path(_)) || matches!(&*a.left, Expr::Unary(_));
        if target_is_place && (locked || self.is_shared(&root)) {
            let loc = self.sp.loc(a.eq_token.span);
            self.write("assigns to shared state", loc);
        }
        syn::visit::visit_expr_assign(self, a);
    }

    fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
        use syn::BinOp::*;
        if matches!(
            b.op,
            AddAssign(_)
                | SubAssign(_)
                | MulAssign(_)
                | DivAssign(_)
                | BitOrAssign(_)
                | BitAndAssign(_)
                | RemAssign(_)
                | BitXorAssign(_)
                | ShlAssign(_)
                | ShrAssign(_)
        ) {
            let (root, locked) = root_of(&b.left);
            let place =
                !matches!(peel_await(&b.left), Expr::Path(_)) || matches!(&*b.left, Expr::Unary(_));
            if place && (locked || self.is_shared(&root)) {
                let loc = self.sp.loc(b.op.span());
                self.write("updates shared state", loc);
            }
        }
        syn::visit::visit_expr_binary(self, b);
    }

    fn visit_expr_method_call(&mut self, mc: &'ast syn::ExprMethodCall) {
        let m = mc.method.to_string();
        let loc = self.sp.range(mc.method.span(), mc.paren_token.span.close());
        let n = mc.args.len();
        let on_self = matches!(peel_await(&mc.receiver), Expr::Path(p) if p.path.is_ident("self"));
        if let Some((_, what)) = WRITE_METHODS.iter().find(|(w, _)| *w == m) {
            self.write(format!("{what} (`.{m}(…)`)"), loc);
        } else if matches!(m.as_str(), "post" | "put" | "patch" | "delete")
            && n == 1
            && handle_word(&mc.args[0])
        {
            self.write(format!("writes a record (`.{m}(…)`)"), loc);
        } else if matches!(m.as_str(), "post" | "put" | "patch" | "delete") && n >= 1 {
            self.write(format!("sends {} (`.{m}(…)`)", m.to_ascii_uppercase()), loc);
        } else if matches!(m.as_str(), "send" | "try_send" | "send_async" | "broadcast") && n >= 1 {
            self.write(format!("sends a message (`.{m}(…)`)"), loc);
        } else if m == "request" && n >= 1 && method_word(&mc.args[0]) {
            self.write("sends a side-effecting request (`.request(…)`)", loc);
        } else if matches!(
            m.as_str(),
            "write" | "append" | "create" | "create_new" | "truncate"
        ) && opens_file(&mc.receiver)
        {
            self.write("opens a file for writing (`OpenOptions`)", loc);
        } else if MUTATING_METHODS.contains(&m.as_str()) {
            let (root, locked) = root_of(&mc.receiver);
            let orm = n == 1
                && matches!(m.as_str(), "insert" | "update" | "delete")
                && handle_word(&mc.args[0]);
            if locked {
                self.write(
                    format!("mutates shared state behind a lock (`.{m}(…)`)"),
                    loc,
                );
            } else if orm {
                self.write(format!("writes a record (`.{m}(…)`)"), loc);
            } else if self.is_shared(&root) {
                let r = root.unwrap_or_default();
                self.write(format!("mutates shared state `{r}` (`.{m}(…)`)"), loc);
            }
        } else if m == "write" && n >= 1 && !opens_file(&mc.receiver) {
            self.write("writes to a file or stream (`.write(…)`)", loc);
        } else if on_self {
            self.out.calls.push((Callee::SelfMethod(m), loc));
        } else {
            // pure names too: the workspace may define a method of that name that writes
            self.out.calls.push((Callee::Method(m, n), loc));
        }
        syn::visit::visit_expr_method_call(self, mc);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Expr::Path(p) = peel_await(&c.func) {
            let segs = path_segments(&p.path);
            let last = segs.last().cloned().unwrap_or_default();
            let loc = self.sp.range(c.func.span(), c.paren_token.span.close());
            let prev = segs.len().checked_sub(2).and_then(|i| segs.get(i));
            let fs = prev.is_some_and(|p| p == "fs" || p == "File" || p == "tokio_fs");
            if fs && matches!(last.as_str(), "write" | "create" | "copy" | "hard_link") {
                self.write(format!("writes a file (`{}`)", segs.join("::")), loc);
            } else if segs.len() >= 2
                && matches!(last.as_str(), "post" | "put" | "patch" | "delete")
                && segs.first().is_some_and(|f| {
                    matches!(f.as_str(), "reqwest" | "ureq" | "surf" | "awc" | "isahc")
                })
            {
                self.write(
                    format!(
                        "sends {} (`{}`)",
                        last.to_ascii_uppercase(),
                        segs.join("::")
                    ),
                    loc,
                );
            } else if segs.len() == 1 && self.params.contains(&last) {
                // a closure parameter (`run(f)` calls `f(conn)`): the closure is written, and
                // read, where this function is called
            } else {
                self.out.calls.push((Callee::Path(segs), loc));
            }
        }
        syn::visit::visit_expr_call(self, c);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        let n = p.path.segments.len();
        if n >= 2 {
            let last = p.path.segments[n - 1].ident.to_string();
            if matches!(last.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
                && p.path.segments[n - 2].ident == "Method"
            {
                let loc = self.sp.loc(p.path.segments[n - 1].ident.span());
                self.write(format!("sends {last} (`Method::{last}`)"), loc);
            }
        }
        syn::visit::visit_expr_path(self, p);
    }

    fn visit_lit_str(&mut self, l: &'ast syn::LitStr) {
        let s = l.value();
        self.literal(&s, || self.sp.loc(l.span()));
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let name = last_ident(&m.path);
        let at = self.sp.loc(m.path.span());
        if self.depth > 8 {
            return;
        }
        self.depth += 1;
        let args = m.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated);
        if SQL_MACROS.contains(&name.as_str()) {
            match &args {
                Ok(args) => args.iter().for_each(|a| self.visit_expr(a)),
                Err(_) => self.opaque_macro(&name, m.tokens.clone(), at),
            }
        } else if EXPR_MACROS.contains(&name.as_str()) || reporting_macro(&name) {
            if let Ok(args) = &args {
                args.iter().for_each(|a| self.visit_expr(a));
            } else if name == "json" {
                // `json!({ "k": v })`: values are expressions, keys are not
                let mut found = false;
                scan_tokens(m.tokens.clone(), &mut |t| {
                    if let TokenTree::Ident(i) = t {
                        found |= WRITE_METHODS.iter().any(|(w, _)| i == w);
                    }
                });
                if found {
                    self.opaque_macro(&name, m.tokens.clone(), at);
                }
            }
        } else {
            // `select!`, `db_run!`, anything else: its strings and names decide
            self.opaque_macro(&name, m.tokens.clone(), at);
        }
        self.depth -= 1;
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {
        // items nested in a body (helper fns, consts) are not run by it
    }
}

/// Whether a method argument names an HTTP method that changes things (`Method::POST`,
/// `"POST"`).
fn method_word(e: &Expr) -> bool {
    match peel_await(e) {
        Expr::Path(p) => p.path.segments.last().is_some_and(|s| {
            matches!(
                s.ident.to_string().as_str(),
                "POST" | "PUT" | "PATCH" | "DELETE"
            )
        }),
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => {
            matches!(
                s.value().to_ascii_uppercase().as_str(),
                "POST" | "PUT" | "PATCH" | "DELETE"
            )
        }
        _ => false,
    }
}

/// Whether an argument looks like a database handle (`&db`, `&mut conn`, `state.pool`).
fn handle_word(e: &Expr) -> bool {
    let (root, _) = root_of(e);
    let mut words = root.unwrap_or_default().to_ascii_lowercase();
    if let Expr::Field(f) = peel_await(e) {
        if let syn::Member::Named(n) = &f.member {
            words.push(' ');
            words.push_str(&n.to_string().to_ascii_lowercase());
        }
    }
    ["db", "conn", "pool", "tx", "txn", "transaction", "executor"]
        .iter()
        .any(|w| {
            words
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .any(|x| {
                    x == *w || x.ends_with(&format!("_{w}")) || x.starts_with(&format!("{w}_"))
                })
        })
}

/// Whether a receiver chain starts at `OpenOptions::new()`.
fn opens_file(e: &Expr) -> bool {
    match peel_await(e) {
        Expr::MethodCall(m) => opens_file(&m.receiver),
        Expr::Call(c) => matches!(&*c.func, Expr::Path(p)
            if p.path.segments.iter().any(|s| s.ident == "OpenOptions")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use idemgate_rules::LineIndex;
    use std::sync::Arc;

    fn summary(src: &str) -> Summary {
        let f: syn::ItemFn = syn::parse_str(src).unwrap();
        let file: Arc<str> = Arc::from("src/x.rs");
        let index = LineIndex::new(src);
        let sp = Spanner::new(&file, src, &index, 0);
        summarize(&sp, &f.sig, &f.block)
    }

    fn writes(src: &str) -> Vec<String> {
        summary(src).writes.into_iter().map(|(w, _)| w).collect()
    }

    #[test]
    fn writes_are_found_with_their_line() {
        let s = summary("async fn f(State(db): State<Db>) {\n    sqlx::query(\"INSERT INTO orders VALUES (1)\")\n        .execute(&db).await;\n}");
        let lines: Vec<(String, u32)> = s.writes.iter().map(|(w, l)| (w.clone(), l.line)).collect();
        assert_eq!(
            lines,
            vec![
                ("executes a statement (`.execute(…)`)".to_string(), 3),
                ("inserts into `orders`".to_string(), 2)
            ]
        );
    }

    #[test]
    fn each_write_kind() {
        assert_eq!(
            writes("fn f(c: &Client) { c.post(url).send(); }"),
            vec!["sends POST (`.post(…)`)"]
        );
        assert_eq!(
            writes("fn f(tx: Sender<u8>) { tx.send(1); }"),
            vec!["sends a message (`.send(…)`)"]
        );
        assert_eq!(
            writes("fn f() { std::fs::write(\"a\", b\"x\"); }"),
            vec!["writes a file (`std::fs::write`)"]
        );
        assert_eq!(
            writes("fn f(s: State<S>) { s.items.lock().unwrap().insert(1, 2); }"),
            vec!["mutates shared state behind a lock (`.insert(…)`)"]
        );
        assert_eq!(
            writes("fn f(s: State<S>) { let mut g = s.n.lock().unwrap(); *g += 1; }"),
            vec!["updates shared state"]
        );
        assert_eq!(
            writes("fn f(s: State<S>) { s.hits.fetch_add(1, Ordering::SeqCst); }"),
            vec!["updates an atomic (`.fetch_add(…)`)"]
        );
        assert_eq!(
            writes("async fn f(db: &Db) { am.insert(db).await; }"),
            vec!["writes a record (`.insert(…)`)"]
        );
        assert_eq!(
            writes("fn f() { OpenOptions::new().append(true).open(p); }"),
            vec!["opens a file for writing (`OpenOptions`)"]
        );
    }

    #[test]
    fn local_work_is_not_a_write() {
        assert!(writes("fn f(Json(mut o): Json<O>) { let mut v = Vec::new(); v.push(1); o.items.push(2); let mut m = HashMap::new(); m.insert(1, 2); }").is_empty());
        assert!(writes("fn f(s: State<S>) { let v = s.items.clone(); let n = s.items.lock().unwrap().get(&1); }").is_empty());
    }

    #[test]
    fn calls_and_unknown_macros() {
        let s = summary("fn f(s: State<S>) { let x = db::find(1); s.repo.charge(x); my_macro!{ a b }; println!(\"{}\", helper(x)); }");
        let calls: Vec<Callee> = s.calls.into_iter().map(|(c, _)| c).collect();
        assert!(calls.contains(&Callee::Path(vec!["db".into(), "find".into()])));
        assert!(calls.contains(&Callee::Method("charge".into(), 1)));
        assert!(calls.contains(&Callee::Path(vec!["helper".into()])));
        assert_eq!(s.unknown.len(), 1);
        assert!(s.unknown[0].0.contains("my_macro!"));
        let s = summary("fn f() { sqlx::query!(\"UPDATE t SET a = 1 WHERE id = $1\", id); }");
        assert_eq!(s.writes[0].0, "updates `t`");
    }
}
