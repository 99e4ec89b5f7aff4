//! Local dataflow inside one function body: what `let` bindings and assignments flow into an
//! expression, the words an expression is made of, which call a scrutinee stands for, and which
//! variables a loop body changes between rounds.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::visit::Visit;
use syn::{BinOp, Block, Expr, Pat, Stmt};

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
}

impl<'ast> Locals<'ast> {
    pub fn collect(block: &'ast Block) -> Self {
        let mut l = Locals::default();
        l.visit_block(block);
        l
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
            } else {
                branch_call(e)
            }
        })
}

/// The call an `if`/`else` chooses between (`let r = if token { c.whoami().await } else {
/// c.auth().await };`): its first branch's value.
pub(crate) fn branch_call(e: &Expr) -> Option<&Expr> {
    match peel_await(e) {
        Expr::If(i) => match i.then_branch.stmts.last() {
            Some(Stmt::Expr(t, None)) => {
                let mut t = peel_await(t);
                // `c.whoami().await.map(|_| ())`: the call under result adapters
                while let Expr::MethodCall(mc) = t {
                    let adapter = matches!(
                        mc.method.to_string().as_str(),
                        "map" | "map_err" | "ok" | "err" | "context" | "with_context"
                    );
                    if !adapter || !is_call(&mc.receiver) {
                        break;
                    }
                    t = peel_await(&mc.receiver);
                }
                if is_call(t) {
                    Some(t)
                } else {
                    branch_call(t)
                }
            }
            _ => None,
        },
        Expr::Block(b) => match b.block.stmts.last() {
            Some(Stmt::Expr(t, None)) => branch_call(t).or_else(|| is_call(t).then_some(t)),
            _ => None,
        },
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

/// Variables the loop body rebinds, assigns or lends mutably: a call that reads them gets new
/// input each time round, so going round is iterating, not retrying.
pub(crate) fn changed_in(body: &Block, call: &Expr) -> (Vec<String>, Vec<String>) {
    struct C(Vec<String>);
    impl<'ast> Visit<'ast> for C {
        fn visit_expr_method_call(&mut self, mc: &'ast syn::ExprMethodCall) {
            // `buf.reserve(n)` may change `buf`
            if let Some(n) = root_ident(&mc.receiver) {
                self.0.push(format!("recv:{n}"));
            }
            syn::visit::visit_expr_method_call(self, mc);
        }
        fn visit_local(&mut self, l: &'ast syn::Local) {
            let mut names = Vec::new();
            pat_names(&l.pat, &mut names);
            self.0.extend(names);
            syn::visit::visit_local(self, l);
        }
        fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
            if let Some(n) = root_ident(&a.left) {
                self.0.push(n);
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
                    self.0.push(n);
                }
            }
            syn::visit::visit_expr_binary(self, b);
        }
        fn visit_expr_reference(&mut self, r: &'ast syn::ExprReference) {
            // lent mutably: may change, like a method call on it (but a `&mut stashed`
            // handed to the retried call itself is not new input)
            if r.mutability.is_some() {
                if let Some(n) = root_ident(&r.expr) {
                    self.0.push(format!("recv:{n}"));
                }
            }
            syn::visit::visit_expr_reference(self, r);
        }
        fn visit_arm(&mut self, a: &'ast syn::Arm) {
            let mut names = Vec::new();
            pat_names(&a.pat, &mut names);
            self.0.extend(names);
            syn::visit::visit_arm(self, a);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut c = C(Vec::new());
    c.visit_block(body);
    // receivers of method calls outside the retried call itself count as changed
    let mut own = C(Vec::new());
    own.visit_expr(call);
    let mut strong = Vec::new();
    let mut weak = Vec::new();
    let mut own_recv: Vec<String> = own
        .0
        .into_iter()
        .filter(|n| n.starts_with("recv:"))
        .collect();
    for n in c.0 {
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
    (strong, weak)
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
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    }
    let mut v = V(Vec::new());
    v.visit_expr(call);
    v.0
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
