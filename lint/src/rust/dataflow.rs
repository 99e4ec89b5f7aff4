//! Local dataflow inside one function body: what `let` bindings and assignments flow into an
//! expression, the words an expression is made of, which call a scrutinee stands for, and which
//! variables a loop body changes between rounds.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::visit::Visit;
use syn::{BinOp, Block, Expr, Pat, Stmt};

use super::outcome::variant;
use super::syntax::peel_await;

pub(crate) fn is_call(e: &Expr) -> bool {
    matches!(peel_await(e), Expr::Call(_) | Expr::MethodCall(_))
}

/// Local `let` bindings and assignments of a function: name → expressions bound to it.
#[derive(Default)]
pub struct Locals<'ast> {
    pub bound: HashMap<String, Vec<&'ast Expr>>,
    /// `x = e`, `x *= e`, … : name → (operator, rhs).
    pub assigned: HashMap<String, Vec<(Option<BinOp>, &'ast Expr)>>,
    /// `if let Some(d) = sleep_time`: `d` → the option it unwraps (followed by [`Self::flow`],
    /// never taken for the call a result stands for).
    pub unwrapped: HashMap<String, Vec<&'ast Expr>>,
}

impl<'ast> Locals<'ast> {
    pub fn collect(block: &'ast Block) -> Self {
        let mut l = Locals::default();
        l.visit_block(block);
        l
    }

    /// The names `e` is made of, and every name that flows into them through local bindings
    /// (and, with `assignments`, reassignments) up to `hops` steps back.
    pub fn reach(&self, e: &Expr, hops: usize, assignments: bool) -> Vec<String> {
        let w = Words::of(e);
        let mut out: Vec<String> = w.idents.iter().map(|(i, _)| i.clone()).collect();
        self.flow(&w, hops, assignments, |_, x| {
            out.extend(x.idents.into_iter().map(|(i, _)| i));
            std::ops::ControlFlow::Continue(())
        });
        out
    }

    /// The expressions that flow into `start` through local bindings (`let x = e`) and, with
    /// `assignments`, reassignments (`x *= e`), following names up to `hops` steps back,
    /// nearest first. `visit` sees each one — `None` for a binding, `Some(op)` for an
    /// assignment (`op` is `None` for plain `=`) — and may stop the walk by returning `Break`.
    pub fn flow(
        &self,
        start: &Words,
        hops: usize,
        assignments: bool,
        mut visit: impl FnMut(Option<Option<&BinOp>>, Words) -> std::ops::ControlFlow<()>,
    ) {
        use std::ops::ControlFlow::Break;
        let mut seen: Vec<String> = Vec::new();
        let mut frontier: Vec<String> = start.idents.iter().map(|(i, _)| i.clone()).collect();
        for _ in 0..hops {
            let mut next = Vec::new();
            for name in frontier {
                if seen.contains(&name) {
                    continue;
                }
                seen.push(name.clone());
                let bound = self
                    .bound
                    .get(&name)
                    .into_iter()
                    .flatten()
                    .chain(self.unwrapped.get(&name).into_iter().flatten())
                    .map(|e| (None, *e));
                let assigned = self
                    .assigned
                    .get(&name)
                    .into_iter()
                    .flatten()
                    .filter(|_| assignments)
                    .map(|(op, e)| (Some(op.as_ref()), *e));
                for (op, e) in bound.chain(assigned) {
                    let words = Words::of(e);
                    next.extend(words.idents.iter().map(|(i, _)| i.clone()));
                    if let Break(()) = visit(op, words) {
                        return;
                    }
                }
            }
            frontier = next;
        }
    }
}

pub(crate) fn single_ident(e: &Expr) -> Option<String> {
    match peel_await(e) {
        Expr::Path(p) if p.path.segments.len() == 1 && p.qself.is_none() => {
            p.path.segments.first().map(|s| s.ident.to_string())
        }
        Expr::Field(f) => single_ident(&f.base).map(|b| match &f.member {
            syn::Member::Named(n) => format!("{b}.{n}"),
            syn::Member::Unnamed(i) => format!("{b}.{}", i.index),
        }),
        _ => None,
    }
}

pub(crate) fn pat_ident(p: &Pat) -> Option<String> {
    match p {
        Pat::Ident(i) => Some(i.ident.to_string()),
        Pat::Type(t) => pat_ident(&t.pat),
        _ => None,
    }
}

impl<'ast> Visit<'ast> for Locals<'ast> {
    fn visit_expr_let(&mut self, l: &'ast syn::ExprLet) {
        // `if let Some(d) = sleep_time`: `d` carries what `sleep_time` holds
        if let Pat::TupleStruct(ts) = &*l.pat {
            if ts.elems.len() == 1 {
                if let Some(name) = ts.elems.first().and_then(pat_ident) {
                    self.unwrapped.entry(name).or_default().push(&l.expr);
                }
            }
        }
        syn::visit::visit_expr_let(self, l);
    }
    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let (Some(name), Some(init)) = (pat_ident(&l.pat), &l.init) {
            self.bound.entry(name).or_default().push(&init.expr);
        }
        syn::visit::visit_local(self, l);
    }
    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        if let Some(name) = single_ident(&a.left) {
            self.assigned
                .entry(name)
                .or_default()
                .push((None, &a.right));
        }
        syn::visit::visit_expr_assign(self, a);
    }
    fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
        if matches!(
            b.op,
            BinOp::MulAssign(_)
                | BinOp::ShlAssign(_)
                | BinOp::AddAssign(_)
                | BinOp::SubAssign(_)
                | BinOp::DivAssign(_)
        ) {
            if let Some(name) = single_ident(&b.left) {
                self.assigned
                    .entry(name)
                    .or_default()
                    .push((Some(b.op), &b.right));
            }
        }
        syn::visit::visit_expr_binary(self, b);
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// The call a scrutinee stands for: the call itself, or the call bound to a local.
pub(crate) fn call_of<'ast>(e: &'ast Expr, locals: &Locals<'ast>) -> Option<&'ast Expr> {
    call_of_within(e, locals, 3)
}

fn call_of_within<'ast>(e: &'ast Expr, locals: &Locals<'ast>, hops: u8) -> Option<&'ast Expr> {
    let e = peel_await(e);
    if is_call(e) {
        return Some(e);
    }
    let name = single_ident(e)?;
    let from_let = locals.bound.get(&name).into_iter().flatten();
    let from_assign = locals
        .assigned
        .get(&name)
        .into_iter()
        .flatten()
        .filter(|(op, _)| op.is_none())
        .map(|(_, e)| e);
    from_let
        .chain(from_assign)
        .map(|e| peel_await(e))
        .find_map(|e| {
            if is_call(e) && !matches!(e, Expr::Try(_)) {
                Some(e)
            } else if hops > 0 && single_ident(e).is_some() {
                // `let fut = send(req); let res = fut.await;`
                call_of_within(e, locals, hops - 1)
            } else {
                branch_call(e)
            }
        })
}

/// The call an `if`/`else` chooses between (`let r = if token { c.whoami().await } else {
/// c.auth().await };`): its first branch's value.
pub(crate) fn branch_call(e: &Expr) -> Option<&Expr> {
    fn value_call(t: &Expr) -> Option<&Expr> {
        let mut t = peel_await(t);
        // `timeout(d, fut).await.map_err(..)?`: the call under `?` and result adapters
        loop {
            match t {
                Expr::Try(x) => t = peel_await(&x.expr),
                Expr::MethodCall(mc)
                    if matches!(
                        mc.method.to_string().as_str(),
                        "map" | "map_err" | "ok" | "err" | "context" | "with_context"
                    ) && is_call(&mc.receiver) =>
                {
                    t = peel_await(&mc.receiver)
                }
                _ => break,
            }
        }
        if is_call(t) {
            Some(t)
        } else {
            branch_call(t)
        }
    }
    fn tail(b: &Block) -> Option<&Expr> {
        match b.stmts.last() {
            Some(Stmt::Expr(t, None)) => Some(t),
            _ => None,
        }
    }
    match peel_await(e) {
        Expr::If(i) => tail(&i.then_branch)
            .and_then(value_call)
            .or_else(|| i.else_branch.as_ref().and_then(|(_, els)| value_call(els))),
        Expr::Block(b) => tail(&b.block).and_then(value_call),
        // `let res = match (retry, &mut req) { (true, r) => r.send_ref().await, … };`
        Expr::Match(m) => m.arms.iter().find_map(|a| value_call(&a.body)),
        _ => None,
    }
}

/// Identifiers, comparisons and arithmetic inside an expression (macros included).
#[derive(Default)]
pub struct Words {
    pub idents: Vec<(String, Span)>,
    pub strings: Vec<String>,
    pub compare: bool,
    pub arith: bool,
    pub growth: bool,
}

impl Words {
    pub fn of(e: &Expr) -> Words {
        let mut w = Words::default();
        w.visit_expr(e);
        w
    }
    pub(crate) fn has(&self, words: &[&str]) -> bool {
        self.idents.iter().any(|(i, _)| words.contains(&i.as_str()))
    }
}

impl<'ast> Visit<'ast> for Words {
    fn visit_ident(&mut self, i: &'ast proc_macro2::Ident) {
        let s = i.to_string();
        if matches!(
            s.as_str(),
            "pow"
                | "saturating_pow"
                | "checked_pow"
                | "saturating_mul"
                | "checked_mul"
                | "mul_f64"
                | "mul_f32"
                | "wrapping_mul"
        ) {
            self.growth = true;
        }
        self.idents.push((s, i.span()));
    }
    fn visit_lit_str(&mut self, l: &'ast syn::LitStr) {
        self.strings.push(l.value());
    }
    fn visit_bin_op(&mut self, op: &'ast BinOp) {
        match op {
            BinOp::Lt(_)
            | BinOp::Le(_)
            | BinOp::Gt(_)
            | BinOp::Ge(_)
            | BinOp::Eq(_)
            | BinOp::Ne(_) => self.compare = true,
            BinOp::Mul(_) | BinOp::Shl(_) | BinOp::MulAssign(_) | BinOp::ShlAssign(_) => {
                self.growth = true
            }
            BinOp::Add(_) | BinOp::Sub(_) | BinOp::AddAssign(_) | BinOp::SubAssign(_) => {
                self.arith = true
            }
            _ => {}
        }
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        super::attrs::idents(m.tokens.clone(), &mut self.idents);
        for tt in m.tokens.clone() {
            if let proc_macro2::TokenTree::Literal(l) = tt {
                if let Ok(s) = syn::parse_str::<syn::LitStr>(&l.to_string()) {
                    self.strings.push(s.value());
                }
            }
        }
        syn::visit::visit_macro(self, m);
    }
}

/// Variables the loop body rebinds, assigns or lends mutably on the way back to the loop head
/// after `call` failed: a call that reads them gets new input each time round, so going round
/// is iterating, not retrying. Returns (rebound, possibly changed through a method or `&mut`).
///
/// What only the call's *success* branch changes (the next page, the next iterator) does not
/// count: after a failure the same input is sent again. Nor do the wait's own bookkeeping
/// (`attempt`, `backoff`, passed as `wait_vars`), fields set on the receiver (a rotated token),
/// headers stamped on a request (`svix-retry-count`), or values rebuilt each round from things
/// that do not change (`let first = attempt == 0;`, a fresh inbox name).
pub(crate) fn changed_in<'ast>(
    body: &'ast Block,
    call: &Expr,
    locals: &Locals<'ast>,
    wait_vars: &[String],
) -> (Vec<String>, Vec<String>) {
    struct C<'l, 'ast> {
        out: Vec<String>,
        lets: Vec<(Vec<String>, &'ast Expr)>,
        call: Option<&'l Expr>,
        locals: Option<&'l Locals<'ast>>,
    }
    impl<'ast> C<'_, 'ast> {
        /// An arm binds its names from the scrutinee: they change when it does.
        fn arm(&mut self, a: &'ast syn::Arm, scrutinee: &'ast Expr) {
            self.bind(&a.pat, scrutinee);
            if let Some((_, g)) = &a.guard {
                self.visit_expr(g);
            }
            self.visit_expr(&a.body);
        }

        /// Names a pattern binds, each from the part of `value` it destructures: in
        /// `match (retry, &mut req) { (true, r) => … }` `r` comes from `req` alone.
        fn bind(&mut self, pat: &'ast Pat, value: &'ast Expr) {
            if let (Pat::Tuple(pt), Expr::Tuple(et)) = (pat, peel_await(value)) {
                if pt.elems.len() == et.elems.len() {
                    for (p, v) in pt.elems.iter().zip(et.elems.iter()) {
                        self.bind(p, v);
                    }
                    return;
                }
            }
            let mut names = Vec::new();
            pat_names(pat, &mut names);
            if !names.is_empty() {
                self.lets.push((names, value));
            }
        }

        fn is_call(&self, e: &'ast Expr) -> bool {
            match (self.call, self.locals) {
                (Some(call), Some(locals)) => {
                    call_of(e, locals).is_some_and(|c| std::ptr::eq(c, call))
                }
                _ => false,
            }
        }
    }
    impl<'ast> Visit<'ast> for C<'_, 'ast> {
        fn visit_expr_method_call(&mut self, mc: &'ast syn::ExprMethodCall) {
            // `buf.reserve(n)` may change `buf`; `req.headers_mut().insert(..)` only stamps
            // metadata on the same request
            let mut stamps = false;
            let mut r = &*mc.receiver;
            while let Expr::MethodCall(inner) = r {
                stamps |= matches!(
                    inner.method.to_string().as_str(),
                    "headers_mut" | "extensions_mut"
                );
                r = &inner.receiver;
            }
            if stamps {
                for a in &mc.args {
                    self.visit_expr(a);
                }
                return;
            }
            if !reads_only(&mc.method.to_string()) {
                if let Some(n) = root_ident(&mc.receiver) {
                    self.out.push(format!("recv:{n}"));
                }
            }
            syn::visit::visit_expr_method_call(self, mc);
        }
        fn visit_local(&mut self, l: &'ast syn::Local) {
            let mut names = Vec::new();
            pat_names(&l.pat, &mut names);
            match &l.init {
                // `let inbox = format!("_INBOX.{}", nuid::next());` rebuilt each round on
                // purpose from a fresh-value source: the retried call's input is the same
                Some(i) if fresh_on_purpose(&i.expr) => {}
                Some(i) if !names.is_empty() => self.lets.push((names, &i.expr)),
                _ => self.out.extend(names),
            }
            syn::visit::visit_local(self, l);
        }
        fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
            match peel_await(&a.left) {
                // `client.token = new_token()`: the same client, one field reset
                Expr::Field(_) => {
                    if let Some(n) = root_ident(&a.left) {
                        self.out.push(format!("recv:{n}"));
                    }
                }
                _ => {
                    if let Some(n) = root_ident(&a.left) {
                        self.out.push(n);
                    }
                }
            }
            syn::visit::visit_expr_assign(self, a);
        }
        fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
            let compound = matches!(
                b.op,
                BinOp::AddAssign(_)
                    | BinOp::SubAssign(_)
                    | BinOp::MulAssign(_)
                    | BinOp::DivAssign(_)
                    | BinOp::RemAssign(_)
                    | BinOp::ShlAssign(_)
                    | BinOp::ShrAssign(_)
                    | BinOp::BitOrAssign(_)
                    | BinOp::BitAndAssign(_)
                    | BinOp::BitXorAssign(_)
            );
            if compound {
                if let Some(n) = root_ident(&b.left) {
                    self.out.push(n);
                }
            }
            syn::visit::visit_expr_binary(self, b);
        }
        fn visit_expr_reference(&mut self, r: &'ast syn::ExprReference) {
            // lent mutably: may change, like a method call on it (but a `&mut stashed`
            // handed to the retried call itself is not new input)
            if r.mutability.is_some() {
                if let Some(n) = root_ident(&r.expr) {
                    self.out.push(format!("recv:{n}"));
                }
            }
            syn::visit::visit_expr_reference(self, r);
        }
        fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
            if self.is_call(&m.expr) {
                // what the success arms change is not sent again after a failure
                self.visit_expr(&m.expr);
                for a in m.arms.iter().filter(|a| !variant(&a.pat, "Ok")) {
                    self.arm(a, &m.expr);
                }
                return;
            }
            // `match &mut req { … }`: borrowed to look inside, not changed by the borrow
            match peel_await(&m.expr) {
                Expr::Reference(r) => self.visit_expr(&r.expr),
                Expr::Tuple(t) => {
                    for e in &t.elems {
                        match e {
                            Expr::Reference(r) => self.visit_expr(&r.expr),
                            other => self.visit_expr(other),
                        }
                    }
                }
                other => self.visit_expr(other),
            }
            for a in &m.arms {
                self.arm(a, &m.expr);
            }
        }
        fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
            if let Expr::Let(l) = peel_await(&i.cond) {
                if variant(&l.pat, "Ok") && self.is_call(&l.expr) {
                    self.visit_expr(&l.expr);
                    if let Some((_, e)) = &i.else_branch {
                        self.visit_expr(e);
                    }
                    return;
                }
            }
            if i.else_branch.is_none() && self.call.is_some() {
                // `if invalid { iterator = None; continue 'outer; }`: a change on one path
                // only; the path around it sends the same input again
                self.visit_expr(&i.cond);
                let mut inner = C {
                    out: Vec::new(),
                    lets: Vec::new(),
                    call: self.call,
                    locals: self.locals,
                };
                inner.visit_block(&i.then_branch);
                // method calls and `&mut` loans inside still count (they may change state on
                // every path that reaches them); rebinding does not
                self.out
                    .extend(inner.out.into_iter().filter(|n| n.starts_with("recv:")));
                return;
            }
            syn::visit::visit_expr_if(self, i);
        }

        fn visit_expr_let(&mut self, l: &'ast syn::ExprLet) {
            // `if let Some(cid) = iter.next()`: bound afresh each round when what it unwraps
            // changes (settled with the `let`s below)
            let mut names = Vec::new();
            pat_names(&l.pat, &mut names);
            if !names.is_empty() {
                self.lets.push((names, &l.expr));
            }
            syn::visit::visit_expr_let(self, l);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut c = C {
        out: Vec::new(),
        lets: Vec::new(),
        call: Some(call),
        locals: Some(locals),
    };
    c.visit_block(body);
    // receivers of method calls outside the retried call itself count as changed
    let mut own = C {
        out: Vec::new(),
        lets: Vec::new(),
        call: None,
        locals: None,
    };
    own.visit_expr(call);
    let mut strong = Vec::new();
    let mut weak = Vec::new();
    let mut own_recv: Vec<String> = own
        .out
        .into_iter()
        .filter(|n| n.starts_with("recv:"))
        .collect();
    for n in c.out {
        match n.strip_prefix("recv:") {
            Some(r) => {
                if let Some(i) = own_recv.iter().position(|o| *o == n) {
                    own_recv.swap_remove(i);
                } else if r != "self" {
                    weak.push(r.to_string());
                }
            }
            None => strong.push(n),
        }
    }
    // `let` values change when what they are computed from changes (other than the wait's
    // bookkeeping), or when they read new data through a call; settle that to a fixpoint
    // a value bound afresh this round is not carried into the next one: calling a method on it
    // changes nothing the next attempt sees
    let bound_here: Vec<&String> = c.lets.iter().flat_map(|(n, _)| n.iter()).collect();
    weak.retain(|w| !bound_here.contains(&w));
    let receiver = receiver_root(call);
    let receiver = receiver.as_ref();
    let mut lets = c.lets;
    loop {
        let before = lets.len();
        lets.retain(|(names, init)| {
            let w = Words::of(init);
            // a field of the call's own receiver (`client.token`) is state of the same client
            let reads_changed = w.idents.iter().any(|(i, _)| {
                !wait_vars.contains(i)
                    && (strong.contains(i) || (weak.contains(i) && receiver != Some(i)))
            });
            if reads_changed || reads_new_data(init) {
                strong.extend(names.iter().cloned());
                false
            } else {
                true
            }
        });
        if lets.len() == before {
            break;
        }
    }
    (strong, weak)
}

/// Methods that read their receiver without changing it: calling them does not make the
/// receiver new input.
fn reads_only(method: &str) -> bool {
    matches!(
        method,
        "to_string"
            | "to_owned"
            | "clone"
            | "as_str"
            | "as_ref"
            | "as_bytes"
            | "as_slice"
            | "as_deref"
            | "borrow"
            | "len"
            | "is_empty"
            | "is_some"
            | "is_none"
            | "is_ok"
            | "is_err"
            | "contains"
            | "contains_key"
            | "starts_with"
            | "ends_with"
            | "iter"
            | "get"
            | "display"
            | "elapsed"
    )
}

/// Whether an expression calls something that may return new data each time (anything but
/// formatting, conversions, comparisons and lookups into a value that does not change).
fn reads_new_data(e: &Expr) -> bool {
    struct R(bool);
    impl<'ast> Visit<'ast> for R {
        fn visit_expr_method_call(&mut self, mc: &'ast syn::ExprMethodCall) {
            if !matches!(
                mc.method.to_string().as_str(),
                "to_string"
                    | "to_owned"
                    | "clone"
                    | "cloned"
                    | "copied"
                    | "into"
                    | "as_str"
                    | "as_ref"
                    | "get"
                    | "unwrap"
                    | "expect"
                    | "as_mut"
                    | "as_deref"
                    | "as_deref_mut"
                    | "unwrap_or"
                    | "unwrap_or_default"
                    | "is_some"
                    | "is_none"
                    | "is_empty"
                    | "len"
                    | "min"
                    | "max"
                    | "clamp"
                    | "saturating_sub"
                    | "saturating_add"
                    | "saturating_mul"
                    | "pow"
            ) {
                self.0 = true;
            }
            syn::visit::visit_expr_method_call(self, mc);
        }
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            let known = match peel_await(&c.func) {
                Expr::Path(p) => {
                    let last = p.path.segments.last().map(|s| s.ident.to_string());
                    last.is_some_and(|l| {
                        l.starts_with("from_")
                            || matches!(l.as_str(), "Some" | "Ok" | "new" | "now" | "min" | "max")
                    })
                }
                _ => false,
            };
            if !known {
                self.0 = true;
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_await(&mut self, _: &'ast syn::ExprAwait) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    }
    let mut r = R(false);
    r.visit_expr(e);
    r.0
}

/// A value built from a fresh-value source (a new UUID, a NUID inbox, a random token) and
/// nothing that changes: rebuilding it each round does not make the request a different one.
fn fresh_on_purpose(init: &Expr) -> bool {
    let w = Words::of(init);
    let fresh = crate::rust::attrs::fresh_value(&w.idents).is_some()
        || w.idents.iter().any(|(i, _)| i == "nuid");
    // only formatting and the generator itself: no call that reads new data
    struct Reads(bool);
    impl<'ast> Visit<'ast> for Reads {
        fn visit_expr_method_call(&mut self, mc: &'ast syn::ExprMethodCall) {
            if !matches!(
                mc.method.to_string().as_str(),
                "to_string" | "to_owned" | "clone" | "into" | "as_str" | "simple" | "hyphenated"
            ) {
                self.0 = true;
            }
            syn::visit::visit_expr_method_call(self, mc);
        }
    }
    let mut r = Reads(false);
    r.visit_expr(init);
    fresh && !r.0
}

/// The variable a method call chain starts from: `client` in `client.get(url).send()`.
pub(crate) fn receiver_root(call: &Expr) -> Option<String> {
    let mut e = peel_await(call);
    while let Expr::MethodCall(mc) = e {
        e = peel_await(&mc.receiver);
    }
    match e {
        Expr::Path(_) | Expr::Field(_) => root_ident(e),
        _ => None,
    }
}

/// `a` for `a`, `a.b.c`, `a[i]`, `*a`.
pub(crate) fn root_ident(e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) if p.path.segments.len() == 1 => {
            p.path.segments.first().map(|s| s.ident.to_string())
        }
        Expr::Field(f) => root_ident(&f.base),
        Expr::Index(i) => root_ident(&i.expr),
        Expr::Unary(u) => root_ident(&u.expr),
        Expr::Paren(p) => root_ident(&p.expr),
        _ => None,
    }
}

/// Local variables a call reads (single-segment paths), `self` excluded.
pub(crate) fn call_inputs(call: &Expr) -> Vec<String> {
    struct V(Vec<String>);
    impl<'ast> Visit<'ast> for V {
        fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
            if p.path.segments.len() == 1 && p.qself.is_none() {
                if let Some(s) = p.path.segments.first() {
                    if s.ident != "self" {
                        self.0.push(s.ident.to_string());
                    }
                }
            }
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            // `format!("{host}:{port}")`, `json!({ "id": id })`
            let mut ids = Vec::new();
            crate::rust::attrs::idents(m.tokens.clone(), &mut ids);
            self.0
                .extend(ids.into_iter().map(|(i, _)| i).filter(|i| i != "self"));
            // inline format arguments: `"{host}:{port}"`
            for tt in m.tokens.clone() {
                if let proc_macro2::TokenTree::Literal(l) = tt {
                    if let Ok(lit) = syn::parse_str::<syn::LitStr>(&l.to_string()) {
                        self.0.extend(format_captures(&lit.value()));
                    }
                }
            }
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    }
    let mut v = V(Vec::new());
    v.visit_expr(call);
    v.0
}

/// The variables a format string captures inline: `{port}`, `{id:?}`, `{0}` excluded.
fn format_captures(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        rest = &rest[i + 1..];
        if rest.starts_with('{') {
            rest = &rest[1..];
            continue;
        }
        let end = rest.find(['}', ':']).unwrap_or(rest.len());
        let name = &rest[..end];
        if name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        {
            out.push(name.to_string());
        }
        rest = &rest[end..];
    }
    out
}

/// Names bound by a `for` pattern.
pub(crate) fn pat_names(p: &Pat, out: &mut Vec<String>) {
    struct N<'o>(&'o mut Vec<String>);
    impl<'ast> Visit<'ast> for N<'_> {
        fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
            self.0.push(i.ident.to_string());
            syn::visit::visit_pat_ident(self, i);
        }
    }
    N(out).visit_pat(p);
}
