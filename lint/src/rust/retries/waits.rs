//! Waits and bounds of a loop: the sleeps between attempts, how a delay grows, and the
//! conditions that cap attempts or elapsed time.

use syn::visit::Visit;
use syn::{BinOp, Block, Expr, Stmt};

use crate::rust::dataflow::Words;
use crate::rust::outcome::{contains_exit, contains_exit_block};
use crate::rust::syntax::{last_ident, path_segments, peel_await};

/// Whether a delay expression calls something other than a `Duration` constructor or
/// arithmetic on durations: then the gate cannot see what the delay is.
pub(crate) fn computed(e: &Expr) -> bool {
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
pub(crate) fn sleep_args(b: &Block) -> Vec<&Expr> {
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
pub(crate) fn sleeps_in(e: &Expr) -> bool {
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
            crate::rust::attrs::idents(m.tokens.clone(), &mut ids);
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

pub(crate) fn block_sleeps(b: &Block) -> bool {
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

pub(crate) const TIME_WORDS: &[&str] = &[
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
pub(crate) const JITTER_WORDS: &[&str] = &[
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
pub(crate) struct Caps {
    pub(crate) attempt: bool,
    pub(crate) time: bool,
}

/// `max == 0 || n < max` (keep going) or `n >= max && max > 0` (stop): a limit of 0 means
/// "forever", so the count bounds nothing when it is configured that way.
pub(crate) fn zero_means_forever(e: &Expr) -> bool {
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
    pub(crate) fn note_cond(&mut self, e: &Expr) {
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
pub(crate) struct CondScan<'c> {
    pub(crate) caps: &'c mut Caps,
    pub(crate) sleeps: Vec<&'c Expr>,
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
                // `if next_delay.is_none() { return e; }`: the schedule ran out
                if let Expr::MethodCall(mc) = peel_await(&i.cond) {
                    if mc.method == "is_none"
                        && matches!(peel_await(&mc.receiver), Expr::Path(p) if p.path.get_ident().is_some())
                    {
                        self.caps.attempt = true;
                    }
                }
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

pub(crate) fn is_sleep_fn(func: &Expr) -> bool {
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
