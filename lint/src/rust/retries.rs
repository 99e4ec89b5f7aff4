//! Inside one function body: hand-rolled retries (loops and recursion), their caps and delays,
//! outbound side effects, idempotency-key headers fed by fresh values, calls, and paths into
//! retry crates.
//!
//! A loop is a retry only when a fallible call's *failure* sends it round again while its
//! *success* leaves: `match call() { Ok(v) => return Ok(v), Err(_) => sleep(..) }`,
//! `if let Ok(v) = call() { break v }`, `while let Err(_) = call()`, `while r.is_err()`,
//! `let Ok(v) = call() else { continue }`. Loops that propagate errors with `?`, poll a value
//! until it is ready, drain a stream, tick an interval or pace sends go round after a success
//! too, so they are not retries.

use std::collections::HashMap;

use idemgate_rules::model::rust::{Delay, RetryKind, RetrySite};
use idemgate_rules::Location;
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{BinOp, Block, Expr, Pat, Stmt};

use super::span::Spanner;
use super::syntax::{last_ident, path_segments, peel_await};

/// Crates whose direct use RETRY004 reports (as named in paths).
pub const RETRY_CRATES: &[&str] = &[
    "backoff",
    "backon",
    "tokio_retry",
    "tokio_retry2",
    "again",
    "retry",
    "reqwest_retry",
];

fn variant(pat: &Pat, name: &str) -> bool {
    match pat {
        Pat::TupleStruct(ts) => ts.path.segments.last().is_some_and(|s| s.ident == name),
        Pat::Paren(p) => variant(&p.pat, name),
        // `ok @ Ok(_)`
        Pat::Ident(i) => i.subpat.as_ref().is_some_and(|(_, sp)| variant(sp, name)),
        Pat::Or(o) => o.cases.iter().any(|c| variant(c, name)),
        _ => false,
    }
}

fn catch_all(pat: &Pat) -> bool {
    match pat {
        Pat::Wild(_) => true,
        Pat::Ident(i) => i.subpat.is_none(),
        _ => false,
    }
}

/// Failures that mean "not ready yet" or "go on reading", not "the call failed": a
/// non-blocking operation restarted on `WouldBlock`/`EINTR`, a receiver that `Lagged`, a local
/// queue that is `Empty`/`Full`. Going round on them is not a retry.
const READINESS: &[&str] = &[
    "WouldBlock",
    "Interrupted",
    "EINTR",
    "EAGAIN",
    "EWOULDBLOCK",
    "Lagged",
    "Empty",
    "Full",
    "EBUSY",
];

fn readiness_arm(a: &syn::Arm) -> bool {
    let mut ids = Vec::new();
    let mut w = Words::default();
    w.visit_pat(&a.pat);
    if let Some((_, g)) = &a.guard {
        w.visit_expr(g);
    }
    ids.extend(w.idents.into_iter().map(|(i, _)| i));
    ids.iter().any(|i| READINESS.contains(&i.as_str()))
}

/// Whether a delay expression calls something other than a `Duration` constructor or
/// arithmetic on durations: then the gate cannot see what the delay is.
fn computed(e: &Expr) -> bool {
    struct C(bool);
    impl<'ast> Visit<'ast> for C {
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            let known = match peel_await(&c.func) {
                Expr::Path(p) => {
                    let last = last_ident(&p.path);
                    last.starts_with("from_")
                        || matches!(last.as_str(), "new" | "min" | "max" | "Some" | "Duration")
                }
                _ => false,
            };
            if !known {
                self.0 = true;
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_method_call(&mut self, mc: &'ast syn::ExprMethodCall) {
            let m = mc.method.to_string();
            let arithmetic = m.starts_with("saturating_")
                || m.starts_with("checked_")
                || m.starts_with("mul_")
                || m.starts_with("as_")
                || matches!(
                    m.as_str(),
                    "min"
                        | "max"
                        | "clamp"
                        | "pow"
                        | "into"
                        | "clone"
                        | "unwrap_or"
                        | "unwrap"
                        | "unwrap_or_default"
                        | "expect"
                );
            if !arithmetic {
                self.0 = true;
            }
            syn::visit::visit_expr_method_call(self, mc);
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    }
    let mut c = C(false);
    c.visit_expr(e);
    c.0
}

/// The arguments of the sleep calls in a block (closures and items excluded).
fn sleep_args(b: &Block) -> Vec<&Expr> {
    struct W<'ast>(Vec<&'ast Expr>);
    impl<'ast> Visit<'ast> for W<'ast> {
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            if is_sleep_fn(&c.func) {
                if let Some(a) = c.args.first() {
                    self.0.push(a);
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut w = W(Vec::new());
    w.visit_block(b);
    w.0
}

/// Whether `e` waits: a sleep call anywhere inside, also in a `select!` branch.
fn sleeps_in(e: &Expr) -> bool {
    struct S(bool);
    impl<'ast> Visit<'ast> for S {
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            if is_sleep_fn(&c.func) {
                self.0 = true;
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            // `tokio::select! { _ = sleep(d) => … }`: the branches are tokens
            let mut ids = Vec::new();
            super::attrs::idents(m.tokens.clone(), &mut ids);
            if ids
                .iter()
                .any(|(i, _)| matches!(i.as_str(), "sleep" | "sleep_until" | "delay_for"))
            {
                self.0 = true;
            }
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut v = S(false);
    v.visit_expr(e);
    v.0
}

fn block_sleeps(b: &Block) -> bool {
    b.stmts.iter().any(|s| match s {
        Stmt::Expr(e, _) => sleeps_in(e),
        Stmt::Local(l) => l.init.as_ref().is_some_and(|i| sleeps_in(&i.expr)),
        Stmt::Macro(m) => sleeps_in(&Expr::Macro(syn::ExprMacro {
            attrs: Vec::new(),
            mac: m.mac.clone(),
        })),
        Stmt::Item(_) => false,
    })
}

fn is_call(e: &Expr) -> bool {
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

fn single_ident(e: &Expr) -> Option<String> {
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

fn pat_ident(p: &Pat) -> Option<String> {
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
fn call_of<'ast>(e: &'ast Expr, locals: &Locals<'ast>) -> Option<&'ast Expr> {
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
fn branch_call(e: &Expr) -> Option<&Expr> {
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

/// Leaves the enclosing loop (or function) on every path.
fn always_exits(e: &Expr) -> bool {
    match e {
        Expr::Return(_) | Expr::Break(_) => true,
        Expr::Paren(p) => always_exits(&p.expr),
        Expr::Group(g) => always_exits(&g.expr),
        Expr::Block(b) => block_exits(&b.block),
        Expr::Unsafe(b) => block_exits(&b.block),
        Expr::If(i) => match &i.else_branch {
            Some((_, els)) => block_exits(&i.then_branch) && always_exits(els),
            None => false,
        },
        Expr::Match(m) => !m.arms.is_empty() && m.arms.iter().all(|a| always_exits(&a.body)),
        Expr::Macro(m) => diverging_macro(&m.mac),
        Expr::Try(t) => {
            matches!(peel_await(&t.expr), Expr::Call(c) if matches!(peel_await(&c.func), Expr::Path(p) if p.path.is_ident("Err")))
        }
        _ => false,
    }
}

fn diverging_macro(m: &syn::Macro) -> bool {
    m.path.segments.last().is_some_and(|s| {
        matches!(
            s.ident.to_string().as_str(),
            "panic" | "unreachable" | "bail" | "todo" | "unimplemented"
        )
    })
}

fn block_exits(b: &Block) -> bool {
    b.stmts.iter().any(stmt_exits)
}

fn stmt_exits(s: &Stmt) -> bool {
    match s {
        Stmt::Expr(e, _) => always_exits(e),
        Stmt::Macro(m) => diverging_macro(&m.mac),
        _ => false,
    }
}

fn continues(e: &Expr) -> bool {
    match e {
        Expr::Continue(_) => true,
        Expr::Block(b) => b
            .block
            .stmts
            .iter()
            .any(|s| matches!(s, Stmt::Expr(e, _) if continues(e))),
        Expr::Paren(p) => continues(&p.expr),
        _ => false,
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
    fn has(&self, words: &[&str]) -> bool {
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

const TIME_WORDS: &[&str] = &[
    "elapsed",
    "deadline",
    "Instant",
    "now",
    "timeout",
    "duration_since",
    "checked_duration_since",
    "remaining",
    "expired",
    "expires_at",
];
const JITTER_WORDS: &[&str] = &[
    "rand",
    "thread_rng",
    "rng",
    "gen_range",
    "random",
    "random_range",
    "fastrand",
    "jitter",
    "Jitter",
    "full_jitter",
    "with_jitter",
    "OsRng",
    "SmallRng",
    "StdRng",
    "Rng",
    "sample",
    "gen",
];

/// Bounds found in conditions: (attempt cap, time cap).
#[derive(Default)]
struct Caps {
    attempt: bool,
    time: bool,
}

/// `max == 0 || n < max` (keep going) or `n >= max && max > 0` (stop): a limit of 0 means
/// "forever", so the count bounds nothing when it is configured that way.
fn zero_means_forever(e: &Expr) -> bool {
    fn zero(e: &Expr) -> bool {
        matches!(peel_await(e), Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) if i.base10_digits() == "0")
    }
    let Expr::Binary(b) = peel_await(e) else {
        return false;
    };
    let side_is = |x: &Expr, ops: &dyn Fn(&BinOp) -> bool| match peel_await(x) {
        Expr::Binary(c) => ops(&c.op) && (zero(&c.right) || zero(&c.left)),
        _ => false,
    };
    match b.op {
        BinOp::Or(_) => {
            let eq = |op: &BinOp| matches!(op, BinOp::Eq(_));
            side_is(&b.left, &eq)
                || side_is(&b.right, &eq)
                || zero_means_forever(&b.left)
                || zero_means_forever(&b.right)
        }
        BinOp::And(_) => {
            let pos = |op: &BinOp| matches!(op, BinOp::Gt(_) | BinOp::Ne(_) | BinOp::Lt(_));
            side_is(&b.left, &pos)
                || side_is(&b.right, &pos)
                || zero_means_forever(&b.left)
                || zero_means_forever(&b.right)
        }
        _ => false,
    }
}

impl Caps {
    fn note_cond(&mut self, e: &Expr) {
        if zero_means_forever(e) {
            return;
        }
        let w = Words::of(e);
        if w.has(TIME_WORDS) {
            self.time = true;
        } else if w.compare {
            self.attempt = true;
        }
    }
}

/// Conditions that guard an exit, inside a loop body (nested loops and closures excluded).
struct CondScan<'c> {
    caps: &'c mut Caps,
    sleeps: Vec<&'c Expr>,
}

impl<'ast> Visit<'ast> for CondScan<'ast> {
    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        if !matches!(peel_await(&i.cond), Expr::Let(_)) {
            let exits = contains_exit_block(&i.then_branch)
                || i.else_branch
                    .as_ref()
                    .is_some_and(|(_, e)| contains_exit(e));
            if exits {
                self.caps.note_cond(&i.cond);
            }
        }
        syn::visit::visit_expr_if(self, i);
    }
    fn visit_arm(&mut self, a: &'ast syn::Arm) {
        if let Some((_, g)) = &a.guard {
            self.caps.note_cond(g);
        }
        syn::visit::visit_arm(self, a);
    }
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if is_sleep_fn(&c.func) {
            if let Some(a) = c.args.first() {
                self.sleeps.push(a);
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_expr_method_call(&mut self, mc: &'ast syn::ExprMethodCall) {
        if mc.method == "sleep" {
            if let Some(a) = mc.args.first() {
                self.sleeps.push(a);
            }
        }
        syn::visit::visit_expr_method_call(self, mc);
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

fn is_sleep_fn(func: &Expr) -> bool {
    let Expr::Path(p) = peel_await(func) else {
        return false;
    };
    let segs = path_segments(&p.path);
    let last = segs.last().map(String::as_str).unwrap_or("");
    matches!(
        last,
        "sleep" | "sleep_until" | "delay_for" | "delay_until" | "sleep_ms"
    ) || (last == "after" && segs.iter().any(|s| s == "Timer"))
        || (last == "new" && segs.iter().any(|s| s == "Delay"))
}

fn contains_exit(e: &Expr) -> bool {
    struct X {
        found: bool,
        loops: usize,
    }
    impl<'ast> Visit<'ast> for X {
        fn visit_expr_return(&mut self, _: &'ast syn::ExprReturn) {
            self.found = true;
        }
        fn visit_expr_break(&mut self, _: &'ast syn::ExprBreak) {
            if self.loops == 0 {
                self.found = true;
            }
        }
        fn visit_expr_try(&mut self, t: &'ast syn::ExprTry) {
            self.found = true;
            syn::visit::visit_expr_try(self, t);
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            if diverging_macro(m) {
                self.found = true;
            }
        }
        fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
            self.loops += 1;
            syn::visit::visit_expr_loop(self, l);
            self.loops -= 1;
        }
        fn visit_expr_while(&mut self, l: &'ast syn::ExprWhile) {
            self.loops += 1;
            syn::visit::visit_expr_while(self, l);
            self.loops -= 1;
        }
        fn visit_expr_for_loop(&mut self, l: &'ast syn::ExprForLoop) {
            self.loops += 1;
            syn::visit::visit_expr_for_loop(self, l);
            self.loops -= 1;
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut x = X {
        found: false,
        loops: 0,
    };
    x.visit_expr(e);
    x.found
}

fn contains_exit_block(b: &Block) -> bool {
    b.stmts.iter().any(|s| match s {
        Stmt::Expr(e, _) => contains_exit(e),
        Stmt::Local(l) => l.init.as_ref().is_some_and(|i| contains_exit(&i.expr)),
        Stmt::Macro(m) => diverging_macro(&m.mac),
        Stmt::Item(_) => false,
    })
}

/// Finds, in a loop body, a fallible call whose failure goes round again and whose success
/// leaves the loop.
struct RetryShape<'ast, 'l> {
    locals: &'l Locals<'ast>,
    top_exit: bool,
    found: Option<&'ast Expr>,
    /// A call found inside a `select!` branch (parsed from the macro's tokens).
    found_in_select: Option<Expr>,
}

/// The branches of a `tokio::select!`/`futures::select!`: (pattern, future, handler).
fn select_branches(m: &syn::Macro) -> Vec<(Pat, Expr, Expr)> {
    use syn::parse::ParseStream;
    let parser = |input: ParseStream<'_>| -> syn::Result<Vec<(Pat, Expr, Expr)>> {
        let mut out = Vec::new();
        while !input.is_empty() {
            if input.peek(syn::Ident) && input.peek2(syn::Token![;]) {
                // `biased;`
                input.parse::<syn::Ident>()?;
                input.parse::<syn::Token![;]>()?;
                continue;
            }
            if input.peek(syn::Token![else]) {
                input.parse::<syn::Token![else]>()?;
                input.parse::<syn::Token![=>]>()?;
                let _: Expr = input.parse()?;
                let _ = input.parse::<syn::Token![,]>();
                continue;
            }
            let pat = Pat::parse_single(input)?;
            input.parse::<syn::Token![=]>()?;
            let fut: Expr = input.parse()?;
            if input.peek(syn::Token![,]) && input.peek2(syn::Token![if]) {
                input.parse::<syn::Token![,]>()?;
                input.parse::<syn::Token![if]>()?;
                let _: Expr = input.parse()?;
            }
            input.parse::<syn::Token![=>]>()?;
            let body: Expr = input.parse()?;
            let _ = input.parse::<syn::Token![,]>();
            out.push((pat, fut, body));
        }
        Ok(out)
    };
    m.parse_body_with(parser).unwrap_or_default()
}

/// In a `select!` branch `r = connect() => match r { Ok(s) => …, Err(e) => { sleep(d).await } }`
/// the branch's future is retried when its failure goes round (with a wait of its own, or
/// while success leaves).
fn select_retry(m: &syn::Macro, top_exit: bool) -> Option<Expr> {
    for (pat, fut, body) in select_branches(m) {
        let Pat::Ident(pi) = &pat else { continue };
        if !is_call(&fut) {
            continue;
        }
        let target = match peel_await(&body) {
            Expr::Block(b) => b.block.stmts.iter().find_map(|s| match s {
                Stmt::Expr(Expr::Match(mm), _) => Some(mm.clone()),
                _ => None,
            }),
            Expr::Match(mm) => Some(mm.clone()),
            _ => None,
        };
        let Some(mm) = target else { continue };
        if !matches!(peel_await(&mm.expr), Expr::Path(p) if p.path.is_ident(&pi.ident)) {
            continue;
        }
        let has_ok = mm.arms.iter().any(|a| variant(&a.pat, "Ok"));
        let ok_exit = mm
            .arms
            .iter()
            .any(|a| variant(&a.pat, "Ok") && always_exits(&a.body));
        let err_round = mm
            .arms
            .iter()
            .any(|a| variant(&a.pat, "Err") && !readiness_arm(a) && !always_exits(&a.body));
        let err_sleeps = mm
            .arms
            .iter()
            .any(|a| variant(&a.pat, "Err") && sleeps_in(&a.body));
        if has_ok && err_round && (ok_exit || err_sleeps || top_exit) {
            return Some(peel_await(&fut).clone());
        }
    }
    None
}

impl<'ast> RetryShape<'ast, '_> {
    /// Whether `if <cond> { then } else { … }` retries the call `cond` tests, where `on_ok`
    /// says the `then` branch runs on its success: success leaves the loop while failure goes
    /// round, or failure `continue`s in a loop that otherwise exits.
    fn branch_retries(&self, on_ok: bool, then: &Block, else_exits: bool) -> bool {
        let then_exits = block_exits(then);
        let then_continues = then
            .stmts
            .iter()
            .any(|s| matches!(s, Stmt::Expr(e, _) if continues(e)));
        if on_ok {
            then_exits && !else_exits
        } else {
            (!then_exits && else_exits) || (then_continues && self.top_exit)
        }
    }

    fn stmts(&mut self, stmts: &'ast [Stmt]) {
        for s in stmts {
            if self.found.is_some() || self.found_in_select.is_some() {
                return;
            }
            match s {
                Stmt::Local(l) => {
                    if let Some(init) = &l.init {
                        if let Some((_, div)) = &init.diverge {
                            // let Ok(v) = call() else { continue };
                            if variant(&l.pat, "Ok") && continues(div) && self.top_exit {
                                self.found = call_of(&init.expr, self.locals);
                            }
                            // let Err(e) = call() else { return Ok(()) }; …goes round
                            if variant(&l.pat, "Err") && always_exits(div) {
                                self.found = call_of(&init.expr, self.locals);
                            }
                        }
                        self.expr(&init.expr);
                    }
                }
                Stmt::Expr(e, _) => self.expr(e),
                Stmt::Macro(m) if last_ident(&m.mac.path) == "select" => {
                    if let Some(call) = select_retry(&m.mac, self.top_exit) {
                        self.found_in_select = Some(call);
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    fn expr(&mut self, e: &'ast Expr) {
        if self.found.is_some() {
            return;
        }
        match e {
            Expr::Match(m) => {
                if let Some(call) = call_of(&m.expr, self.locals) {
                    // `Ok(r) if r.status().is_success() => return Ok(r)` leaves on success too
                    let ok_exit = m
                        .arms
                        .iter()
                        .any(|a| variant(&a.pat, "Ok") && always_exits(&a.body));
                    let err_goes_round = m.arms.iter().any(|a| {
                        (variant(&a.pat, "Err") || catch_all(&a.pat))
                            && !readiness_arm(a)
                            && (a.guard.is_some() || !always_exits(&a.body))
                    });
                    let err_continue = m.arms.iter().any(|a| {
                        (variant(&a.pat, "Err") || catch_all(&a.pat)) && continues(&a.body)
                    });
                    let has_ok = m.arms.iter().any(|a| variant(&a.pat, "Ok"));
                    if has_ok && err_goes_round && (ok_exit || (err_continue && self.top_exit)) {
                        self.found = Some(call);
                        return;
                    }
                    // a loop that runs the call again either way, but waits only after it
                    // failed: a restart with a delay of its own (a reconnect loop)
                    let err_sleeps = m.arms.iter().any(|a| {
                        (variant(&a.pat, "Err") || catch_all(&a.pat))
                            && !always_exits(&a.body)
                            && sleeps_in(&a.body)
                    });
                    let ok_sleeps = m
                        .arms
                        .iter()
                        .any(|a| variant(&a.pat, "Ok") && sleeps_in(&a.body));
                    if has_ok && err_sleeps && !ok_sleeps {
                        self.found = Some(call);
                        return;
                    }
                }
                for a in &m.arms {
                    self.expr(&a.body);
                }
            }
            Expr::If(i) => {
                let els = i.else_branch.as_ref().map(|(_, e)| &**e);
                let else_exits = els.is_some_and(always_exits);
                match peel_await(&i.cond) {
                    Expr::Let(l) => {
                        let on_ok = if variant(&l.pat, "Ok") {
                            Some(true)
                        } else if variant(&l.pat, "Err") {
                            Some(false)
                        } else {
                            None
                        };
                        if let (Some(call), Some(on_ok)) = (call_of(&l.expr, self.locals), on_ok) {
                            if self.branch_retries(on_ok, &i.then_branch, else_exits) {
                                self.found = Some(call);
                                return;
                            }
                            // `if let Err(e) = connect() { warn!(…); sleep(d).await; }` in a
                            // loop that runs it again: the failure has a delay of its own
                            if !on_ok
                                && !block_exits(&i.then_branch)
                                && block_sleeps(&i.then_branch)
                                && !els.is_some_and(sleeps_in)
                            {
                                self.found = Some(call);
                                return;
                            }
                        }
                    }
                    Expr::MethodCall(mc) if mc.method == "is_ok" || mc.method == "is_err" => {
                        if let Some(call) = call_of(&mc.receiver, self.locals) {
                            let on_ok = mc.method == "is_ok";
                            if self.branch_retries(on_ok, &i.then_branch, else_exits) {
                                self.found = Some(call);
                                return;
                            }
                        }
                    }
                    _ => {}
                }
                self.stmts(&i.then_branch.stmts);
                if let Some(e) = els {
                    self.expr(e);
                }
            }
            Expr::Block(b) => self.stmts(&b.block.stmts),
            Expr::Unsafe(b) => self.stmts(&b.block.stmts),
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Macro(m) if last_ident(&m.mac.path) == "select" => {
                if let Some(call) = select_retry(&m.mac, self.top_exit) {
                    self.found_in_select = Some(call);
                }
            }
            _ => {}
        }
    }
}

/// A receive (`rx.recv()`, `stream.next()`, `listener.accept()`, maybe under a `timeout`):
/// going round after a timeout or a lag keeps draining; it re-sends nothing.
fn receive(call: &Expr) -> bool {
    const RECEIVE: &[&str] = &[
        "next",
        "recv",
        "recv_async",
        "recv_many",
        "try_next",
        "next_message",
        "accept",
        "read_line",
        "read_message",
    ];
    match peel_await(call) {
        Expr::MethodCall(mc) => RECEIVE.contains(&mc.method.to_string().as_str()),
        Expr::Call(c) => match peel_await(&c.func) {
            Expr::Path(p) if last_ident(&p.path) == "timeout" => {
                c.args.iter().last().is_some_and(receive)
            }
            _ => false,
        },
        _ => false,
    }
}

/// Calls on in-process primitives: a compare-and-swap loop or a `try_recv`/`try_lock` poll
/// goes round on contention, not on a failed remote call.
fn local_primitive(call: &Expr) -> bool {
    let name = match peel_await(call) {
        Expr::MethodCall(mc) => mc.method.to_string(),
        Expr::Call(c) => match peel_await(&c.func) {
            Expr::Path(p) => last_ident(&p.path),
            _ => return false,
        },
        _ => return false,
    };
    // compare-and-swap, `try_*` polls, conversions and parsers: they go round on contention
    // or to consume input, not on a failed remote call
    name.starts_with("try_")
        || name.starts_with("poll_")
        || name.contains("compare_exchange")
        || matches!(
            name.as_str(),
            "compare_and_swap"
                | "fetch_update"
                | "from_utf8"
                | "from_str"
                | "parse"
                | "binary_search"
                | "binary_search_by"
                | "catch_unwind"
        )
}

/// Variables the loop body rebinds, assigns or lends mutably: a call that reads them gets new
/// input each time round, so going round is iterating, not retrying.
fn changed_in(body: &Block, call: &Expr) -> (Vec<String>, Vec<String>) {
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
fn receiver_root(call: &Expr) -> Option<String> {
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
fn root_ident(e: &Expr) -> Option<String> {
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
fn call_inputs(call: &Expr) -> Vec<String> {
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
fn pat_names(p: &Pat, out: &mut Vec<String>) {
    struct N<'o>(&'o mut Vec<String>);
    impl<'ast> Visit<'ast> for N<'_> {
        fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
            self.0.push(i.ident.to_string());
            syn::visit::visit_pat_ident(self, i);
        }
    }
    N(out).visit_pat(p);
}

/// What a function's loops and recursion tell about retries.
pub struct RetryScan<'ast, 'a, 'b> {
    pub sp: &'a Spanner<'b>,
    pub text: &'b str,
    pub function: &'a str,
    pub fn_name: &'a str,
    pub is_method: bool,
    pub locals: &'a Locals<'ast>,
    pub sites: Vec<RetrySite>,
    fail: Option<&'ast Expr>,
    cond_cap: bool,
    fail_sleep: Option<&'ast Expr>,
    /// Inside a future run under a deadline (`timeout(d, async { loop { … } })`).
    under_timeout: u32,
    /// The function's parameter names: a recursion that passes them on (or counts with them)
    /// re-invokes the same operation; one that passes anything else recurses on new input.
    pub params: Vec<String>,
}

impl<'ast, 'a, 'b> RetryScan<'ast, 'a, 'b> {
    pub fn new(
        sp: &'a Spanner<'b>,
        text: &'b str,
        function: &'a str,
        fn_name: &'a str,
        is_method: bool,
        locals: &'a Locals<'ast>,
    ) -> Self {
        RetryScan {
            sp,
            text,
            function,
            fn_name,
            is_method,
            locals,
            sites: Vec::new(),
            fail: None,
            cond_cap: false,
            fail_sleep: None,
            under_timeout: 0,
            params: Vec::new(),
        }
    }

    fn call_text(&self, e: &Expr) -> (String, Location) {
        let loc = self.sp.loc(e.span());
        let src = self
            .text
            .get(loc.offset..loc.offset + loc.len)
            .unwrap_or("");
        let head = src.split('(').next().unwrap_or(src);
        let head = if head.trim().is_empty() { src } else { head };
        let text: String = head.split_whitespace().collect::<Vec<_>>().join("");
        let text = if text.chars().count() > 60 {
            text.chars().take(60).collect::<String>() + "…"
        } else {
            text
        };
        (text, loc)
    }

    /// Classifies the wait between attempts from the sleep's argument.
    fn delay(&self, arg: &Expr) -> Delay {
        let mut w = Words::of(arg);
        let mut growth = w.growth;
        let mut reached = Vec::new();
        self.locals.flow(&w, 3, true, |via, x| {
            growth |= x.growth;
            if let Some(op) = via {
                // reassigned: arithmetic or a compound `*=`, `<<=`, `+=` grows the delay
                growth |= x.arith
                    || matches!(
                        op,
                        Some(BinOp::MulAssign(_) | BinOp::ShlAssign(_) | BinOp::AddAssign(_))
                    );
            }
            reached.extend(x.idents);
            std::ops::ControlFlow::Continue(())
        });
        w.idents.extend(reached);
        // a wait computed by a helper (`self.backoff(n)`, `schedule.next()`) is unknown
        let mut helper = computed(arg);
        if !helper {
            for name in Words::of(arg).idents.iter().map(|(i, _)| i) {
                if let Some(bound) = self.locals.bound.get(name) {
                    helper |= bound.iter().any(|e| computed(e));
                }
            }
        }
        if w.has(JITTER_WORDS) {
            Delay::Jittered
        } else if growth {
            Delay::Deterministic
        } else if helper {
            Delay::Unknown
        } else {
            Delay::Constant
        }
    }

    /// The call a `while` condition re-runs while it fails: `while let Err(_) = call()`,
    /// `while call().is_err()`, `while !call().is_ok()`, also beside a bound
    /// (`while client.send().await.is_err() && n < 5`).
    fn failing_condition(&self, c: &'ast Expr) -> Option<&'ast Expr> {
        match peel_await(c) {
            Expr::Let(l) if variant(&l.pat, "Err") => call_of(&l.expr, self.locals),
            Expr::MethodCall(mc) if mc.method == "is_err" => call_of(&mc.receiver, self.locals),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => match peel_await(&u.expr) {
                Expr::MethodCall(mc) if mc.method == "is_ok" => call_of(&mc.receiver, self.locals),
                _ => None,
            },
            Expr::Binary(b) if matches!(b.op, BinOp::And(_)) => self
                .failing_condition(&b.left)
                .or_else(|| self.failing_condition(&b.right)),
            _ => None,
        }
    }

    /// A loop that runs a call again whatever it returned, but whose wait depends on the
    /// failure: a delay that grows (`delay *= 2`, `300 * fails`) or that the failure branch
    /// sets (`sleep_time = ON_ERROR`). That is a restart with backoff — a retry — while a loop
    /// that waits the same interval either way is a periodic job.
    fn restart_with_backoff(&self, body: &'ast Block) -> Option<&'ast Expr> {
        let mut failure: Option<(&'ast Expr, Vec<&'ast Expr>)> = None;
        for st in &body.stmts {
            let Stmt::Expr(e, _) = st else { continue };
            match peel_await(e) {
                Expr::If(i) => {
                    if let Expr::Let(l) = peel_await(&i.cond) {
                        if variant(&l.pat, "Err") && !block_exits(&i.then_branch) {
                            if let Some(call) = call_of(&l.expr, self.locals) {
                                let branch: Vec<&Expr> = i
                                    .then_branch
                                    .stmts
                                    .iter()
                                    .filter_map(|s| match s {
                                        Stmt::Expr(e, _) => Some(e),
                                        _ => None,
                                    })
                                    .collect();
                                failure = Some((call, branch));
                            }
                        }
                    }
                }
                Expr::Match(m) => {
                    if let Some(call) = call_of(&m.expr, self.locals) {
                        let arms: Vec<&Expr> = m
                            .arms
                            .iter()
                            .filter(|a| variant(&a.pat, "Err") && !always_exits(&a.body))
                            .map(|a| &*a.body)
                            .collect();
                        if !arms.is_empty() && m.arms.iter().any(|a| variant(&a.pat, "Ok")) {
                            failure = Some((call, arms));
                        }
                    }
                }
                _ => {}
            }
            if failure.is_some() {
                break;
            }
        }
        let (call, branch) = failure?;
        // variables the failure branch sets
        let mut set: Vec<String> = Vec::new();
        struct Sets<'v>(&'v mut Vec<String>);
        impl<'ast> Visit<'ast> for Sets<'_> {
            fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
                if let Some(n) = single_ident(&a.left) {
                    self.0.push(n);
                }
                syn::visit::visit_expr_assign(self, a);
            }
            fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
                if matches!(
                    b.op,
                    BinOp::AddAssign(_) | BinOp::MulAssign(_) | BinOp::ShlAssign(_)
                ) {
                    if let Some(n) = single_ident(&b.left) {
                        self.0.push(n);
                    }
                }
                syn::visit::visit_expr_binary(self, b);
            }
        }
        for e in &branch {
            Sets(&mut set).visit_expr(e);
        }
        // the waits of the loop
        let depends = sleep_args(body).iter().any(|arg| {
            self.delay(arg) != Delay::Constant
                || Words::of(arg).idents.iter().any(|(i, _)| set.contains(i))
        });
        depends.then_some(call)
    }

    fn loop_site(
        &mut self,
        kw: Span,
        cond: Option<&'ast Expr>,
        for_loop: Option<(&'ast Pat, &'ast Expr)>,
        body: &'ast Block,
    ) {
        let top_exit = block_exits(body);
        let mut found: Option<&'ast Expr> = None;
        let mut selected: Option<Expr> = None;
        if let Some(c) = cond {
            found = self.failing_condition(c);
        }
        if found.is_none() {
            let mut shape = RetryShape {
                locals: self.locals,
                top_exit,
                found: None,
                found_in_select: None,
            };
            shape.stmts(&body.stmts);
            found = shape.found;
            selected = shape.found_in_select;
        }
        if found.is_none() && selected.is_none() {
            found = self.restart_with_backoff(body);
        }
        let Some(call) = found.or(selected.as_ref()) else {
            return;
        };
        if local_primitive(call) || receive(call) {
            return;
        }
        // The call's receiver counts as new input only when rebound or assigned (a client
        // that is reset between attempts is still retried); its arguments also when a method
        // is called on them (`buf.reserve(n)` before calling again with `buf`).
        let (mut strong, mut weak) = changed_in(body, call);
        // the wait's own variables (`delay = (delay * 2).min(max)`) are not new input, even
        // when handed to the call
        let waits = sleep_args(body);
        let wait_vars: Vec<String> = waits
            .iter()
            .flat_map(|a| Words::of(a).idents.into_iter().map(|(i, _)| i))
            .collect();
        strong.retain(|v| !wait_vars.contains(v));
        weak.retain(|v| !wait_vars.contains(v));
        if let Some(Expr::Let(l)) = cond.map(peel_await) {
            // `while let Some(x) = it.next()`: `x` is new every time round
            pat_names(&l.pat, &mut strong);
        }
        let mut receiver = receiver_root(call);
        let fresh_input = call_inputs(call).iter().any(|i| {
            if receiver.as_ref() == Some(i) {
                receiver = None;
                strong.contains(i)
            } else {
                strong.contains(i) || weak.contains(i)
            }
        });
        if fresh_input {
            return;
        }
        let mut caps = Caps::default();
        if let Some((pat, iter)) = for_loop {
            // a retry re-invokes the same call; a call fed by the loop variable is a new one
            let mut names = Vec::new();
            pat_names(pat, &mut names);
            let w = Words::of(call);
            if w.idents.iter().any(|(i, _)| names.contains(i)) {
                return;
            }
            caps.attempt = match peel_await(iter) {
                Expr::Range(r) => r.end.is_some(),
                Expr::Call(c) => {
                    !matches!(peel_await(&c.func), Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "repeat"))
                }
                _ => true,
            };
        }
        if let Some(c) = cond {
            if !matches!(peel_await(c), Expr::Let(_)) {
                caps.note_cond(c);
                // `while r.is_err()` alone bounds nothing
                let w = Words::of(c);
                if !w.compare && !w.has(TIME_WORDS) {
                    caps.attempt = false;
                }
            }
        }
        let mut scan = CondScan {
            caps: &mut caps,
            sleeps: Vec::new(),
        };
        scan.visit_block(body);
        let sleeps = std::mem::take(&mut scan.sleeps);
        let (delay, delay_location) = match sleeps.first() {
            Some(arg) => (self.delay(arg), Some(self.sp.loc(arg.span()))),
            None => (Delay::None, None),
        };
        let (call_text, call_location) = self.call_text(call);
        self.sites.push(RetrySite {
            kind: RetryKind::Loop,
            location: self.sp.loc(kw),
            function: self.function.to_string(),
            call: call_text,
            call_location,
            attempt_cap: caps.attempt,
            time_cap: caps.time || self.under_timeout > 0,
            delay,
            delay_location,
        });
    }

    fn in_failure(&mut self, call: Option<&'ast Expr>, cap: bool, f: impl FnOnce(&mut Self)) {
        let saved = (self.fail, self.cond_cap, self.fail_sleep);
        if call.is_some() {
            self.fail = call;
        }
        self.cond_cap |= cap;
        f(self);
        self.fail = saved.0;
        self.cond_cap = saved.1;
        self.fail_sleep = saved.2;
    }
}

impl<'ast> Visit<'ast> for RetryScan<'ast, '_, '_> {
    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        self.loop_site(l.loop_token.span, None, None, &l.body);
        syn::visit::visit_expr_loop(self, l);
    }
    fn visit_expr_while(&mut self, l: &'ast syn::ExprWhile) {
        self.loop_site(l.while_token.span, Some(&l.cond), None, &l.body);
        syn::visit::visit_expr_while(self, l);
    }
    fn visit_expr_for_loop(&mut self, l: &'ast syn::ExprForLoop) {
        self.loop_site(l.for_token.span, None, Some((&l.pat, &l.expr)), &l.body);
        syn::visit::visit_expr_for_loop(self, l);
    }
    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        self.visit_expr(&m.expr);
        let call = call_of(&m.expr, self.locals);
        let has_ok = m.arms.iter().any(|a| variant(&a.pat, "Ok"));
        for a in &m.arms {
            let failing = variant(&a.pat, "Err") || (has_ok && catch_all(&a.pat));
            let cap = a.guard.as_ref().is_some_and(|(_, g)| {
                let w = Words::of(g);
                w.compare || w.has(TIME_WORDS)
            });
            if let Some((_, g)) = &a.guard {
                self.visit_expr(g);
            }
            let c = if failing { call } else { None };
            self.in_failure(c, cap, |s| s.visit_expr(&a.body));
        }
    }
    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        self.visit_expr(&i.cond);
        let (then_fail, else_fail) = match peel_await(&i.cond) {
            Expr::Let(l) if variant(&l.pat, "Err") => (call_of(&l.expr, self.locals), None),
            Expr::Let(l) if variant(&l.pat, "Ok") => (None, call_of(&l.expr, self.locals)),
            Expr::MethodCall(mc) if mc.method == "is_err" => {
                (call_of(&mc.receiver, self.locals), None)
            }
            Expr::MethodCall(mc) if mc.method == "is_ok" => {
                (None, call_of(&mc.receiver, self.locals))
            }
            _ => (None, None),
        };
        let cap = !matches!(peel_await(&i.cond), Expr::Let(_)) && {
            let w = Words::of(&i.cond);
            w.compare || w.has(TIME_WORDS)
        };
        self.in_failure(then_fail, cap, |s| s.visit_block(&i.then_branch));
        if let Some((_, e)) = &i.else_branch {
            self.in_failure(else_fail, cap, |s| s.visit_expr(e));
        }
    }
    fn visit_expr_method_call(&mut self, mc: &'ast syn::ExprMethodCall) {
        let m = mc.method.to_string();
        if matches!(m.as_str(), "or_else" | "unwrap_or_else" | "or_else_async") {
            self.visit_expr(&mc.receiver);
            let call = if is_call(&mc.receiver) {
                Some(peel_await(&mc.receiver))
            } else {
                None
            };
            for a in &mc.args {
                self.in_failure(call, false, |s| s.visit_expr(a));
            }
            return;
        }
        if m == "sleep" && self.fail.is_some() && self.fail_sleep.is_none() {
            self.fail_sleep = mc.args.first();
        }
        if self.fail.is_some()
            && self.is_method
            && mc.method == self.fn_name
            && matches!(peel_await(&mc.receiver), Expr::Path(p) if p.path.is_ident("self"))
        {
            self.recursion_site_mc(mc);
        }
        syn::visit::visit_expr_method_call(self, mc);
    }
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if is_sleep_fn(&c.func) && self.fail.is_some() && self.fail_sleep.is_none() {
            self.fail_sleep = c.args.first();
        }
        if self.fail.is_some() {
            if let Expr::Path(_) = peel_await(&c.func) {
                if self.is_self_call_parts(&c.func) {
                    self.recursion_site_call(c);
                }
            }
        }
        // `tokio::time::timeout(d, async { loop { … } })`: the whole loop has a deadline
        let deadline = matches!(peel_await(&c.func), Expr::Path(p) if matches!(last_ident(&p.path).as_str(), "timeout" | "timeout_at"));
        if deadline {
            self.under_timeout += 1;
            syn::visit::visit_expr_call(self, c);
            self.under_timeout -= 1;
            return;
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

impl<'ast> RetryScan<'ast, '_, '_> {
    fn is_self_call_parts(&self, func: &Expr) -> bool {
        match peel_await(func) {
            Expr::Path(p) => {
                let segs = path_segments(&p.path);
                segs.last().is_some_and(|l| l == self.fn_name)
                    && ((segs.len() == 1 && !self.is_method)
                        || (segs.len() == 2 && segs[0] == "Self"))
            }
            _ => false,
        }
    }

    /// Whether a recursive call's argument is the same input: a parameter passed on (also by
    /// reference or clone), a literal, or a count computed from them (`attempts - 1`).
    fn same_input(&self, a: &Expr) -> bool {
        match peel_await(a) {
            Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|i| self.params.iter().any(|n| i == n) || i == "self"),
            Expr::Lit(_) => true,
            Expr::Binary(b) => self.same_input(&b.left) && self.same_input(&b.right),
            Expr::MethodCall(mc) => {
                matches!(
                    mc.method.to_string().as_str(),
                    "clone" | "as_ref" | "as_str" | "to_owned" | "to_string" | "into"
                ) && self.same_input(&mc.receiver)
            }
            Expr::Unary(u) => self.same_input(&u.expr),
            Expr::Field(f) => {
                self.same_input(&f.base)
                    && matches!(peel_await(&f.base), Expr::Path(p) if p.path.is_ident("self"))
            }
            _ => false,
        }
    }

    fn recursion_site_call(&mut self, c: &'ast syn::ExprCall) {
        let Some(call) = self.fail else {
            return;
        };
        // `find(parent)`: recursion on a changing argument walks, it does not retry
        if !c.args.iter().all(|a| self.same_input(a)) {
            return;
        }
        let arith = c.args.iter().any(|a| Words::of(a).arith);
        self.push_recursion(c.func.span(), c.paren_token.span.close(), call, arith);
    }

    fn recursion_site_mc(&mut self, mc: &'ast syn::ExprMethodCall) {
        let Some(call) = self.fail else {
            return;
        };
        // `self.walk(&node.left).or_else(|| self.walk(&node.right))`: new input each time
        if !mc.args.iter().all(|a| self.same_input(a)) {
            return;
        }
        let arith = mc.args.iter().any(|a| Words::of(a).arith);
        self.push_recursion(mc.receiver.span(), mc.paren_token.span.close(), call, arith);
    }

    fn push_recursion(&mut self, start: Span, end: Span, call: &'ast Expr, arith: bool) {
        let (delay, delay_location) = match self.fail_sleep {
            Some(arg) => (self.delay(arg), Some(self.sp.loc(arg.span()))),
            None => (Delay::None, None),
        };
        let (call_text, call_location) = self.call_text(call);
        self.sites.push(RetrySite {
            kind: RetryKind::Recursion,
            location: self.sp.range(start, end),
            function: self.function.to_string(),
            call: call_text,
            call_location,
            attempt_cap: self.cond_cap || arith,
            time_cap: false,
            delay,
            delay_location,
        });
    }
}
