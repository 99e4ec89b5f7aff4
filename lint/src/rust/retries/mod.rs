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

mod shape;
mod waits;

use idemgate_rules::model::rust::{Delay, RetryKind, RetrySite};
use idemgate_rules::Location;
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{BinOp, Block, Expr, Pat, Stmt};

use crate::rust::dataflow::{
    call_inputs, call_of, changed_in, is_call, pat_names, receiver_root, single_ident, Locals,
    Words,
};
use crate::rust::outcome::{
    always_exits, block_exits, catch_all, local_primitive, receive, variant,
};
use crate::rust::span::Spanner;
use crate::rust::syntax::{last_ident, path_segments, peel_await};

use shape::RetryShape;
use waits::{computed, is_sleep_fn, sleep_args, Caps, CondScan, JITTER_WORDS, TIME_WORDS};

/// Crates whose direct use RETRY004 reports (as named in paths): the shared vocabulary.
pub use idemgate_grammar::vocab::RETRY_CRATES;

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
                || self
                    .locals
                    .reach(arg, 3, false)
                    .iter()
                    .any(|i| set.contains(i))
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
        if local_primitive(call) {
            return;
        }
        // a receive goes round to keep draining — unless its success leaves the loop and the
        // loop waits before trying again (`listener.accept()` with a doubling backoff)
        if receive(call)
            && (sleep_args(body).is_empty() || !shape::success_leaves(body, call, self.locals))
        {
            return;
        }
        // The call's receiver counts as new input only when rebound or assigned (a client
        // that is reset between attempts is still retried); its arguments also when a method
        // is called on them (`buf.reserve(n)` before calling again with `buf`).
        // the wait's own variables (`delay = (delay * 2).min(max)`, the `attempt` a schedule is
        // indexed by) are not new input, even when handed to the call
        let wait_vars: Vec<String> = sleep_args(body)
            .iter()
            .flat_map(|a| self.locals.reach(a, 3, true))
            .collect();
        let (mut strong, mut weak) = changed_in(body, call, self.locals, &wait_vars);
        strong.retain(|v| !wait_vars.contains(v));
        weak.retain(|v| !wait_vars.contains(v));
        if let Some(Expr::Let(l)) = cond.map(peel_await) {
            // `while let Some(x) = it.next()`: `x` is new every time round
            pat_names(&l.pat, &mut strong);
        }
        let mut receiver = receiver_root(call);
        // a request or future built in the loop and not yet awaited (`let fut =
        // execute(req.clone());` … `timeout(d, fut)`) stands for what it is built from
        let mut inputs = Vec::new();
        for i in call_inputs(call) {
            match self.locals.bound.get(&i).map(Vec::as_slice) {
                Some([init]) if is_call(init) && !awaits(init) => {
                    let from = call_inputs(init);
                    // `let cid = ObjectId::from(cid.clone())` shadows: the name stays an input
                    if !from.contains(&i) {
                        strong.retain(|v| *v != i);
                    }
                    inputs.extend(from);
                }
                _ => inputs.push(i),
            }
        }
        let fresh_input = inputs.iter().any(|i| {
            if receiver.as_ref() == Some(i) {
                receiver = None;
                strong.contains(i)
            } else {
                strong.contains(i) || weak.contains(i)
            }
        });
        if fresh_input || dispatched_on_new_input(body, call, &strong) {
            return;
        }
        // a retry state machine driven by the loop keeps its bounds to itself: the gate does
        // not claim it is unbounded
        let mut caps = Caps {
            attempt: shape::retry_driver(call),
            ..Caps::default()
        };
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

/// Whether the call runs only in a branch chosen by something new each round: `match action {
/// Commit => client.commit().await, … }` after reading a command. The loop dispatches input;
/// a failed command waits for the next one rather than being sent again.
fn dispatched_on_new_input(body: &Block, call: &Expr, strong: &[String]) -> bool {
    struct D<'c> {
        call: &'c Expr,
        strong: &'c [String],
        scrutinees: Vec<bool>,
        found: bool,
    }
    impl<'ast> Visit<'ast> for D<'_> {
        fn visit_expr(&mut self, e: &'ast Expr) {
            if self.found {
                return;
            }
            if std::ptr::eq(e, self.call) || std::ptr::eq(peel_await(e), self.call) {
                self.found = self.scrutinees.iter().any(|s| *s);
                return;
            }
            let changed = |x: &Expr| {
                Words::of(x)
                    .idents
                    .iter()
                    .any(|(i, _)| self.strong.contains(i))
            };
            match e {
                Expr::Match(m) if !is_call(&m.expr) => {
                    let c = changed(&m.expr);
                    self.visit_expr(&m.expr);
                    self.scrutinees.push(c);
                    for a in &m.arms {
                        self.visit_expr(&a.body);
                    }
                    self.scrutinees.pop();
                }
                _ => syn::visit::visit_expr(self, e),
            }
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut d = D {
        call,
        strong,
        scrutinees: Vec::new(),
        found: false,
    };
    d.visit_block(body);
    d.found
}

/// Whether an expression awaits anything (closures and async blocks excluded).
fn awaits(e: &Expr) -> bool {
    struct A(bool);
    impl<'ast> Visit<'ast> for A {
        fn visit_expr_await(&mut self, _: &'ast syn::ExprAwait) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
    }
    let mut a = A(false);
    a.visit_expr(e);
    a.0
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
            Expr::Path(p) => p.path.get_ident().is_some_and(|i| {
                self.params.iter().any(|n| i == n)
                    || i == "self"
                    // `let org_req = req.clone();` … `self.execute(org_req)`: a copy kept
                    // to send the same request again
                    || self.locals.bound.get(&i.to_string()).is_some_and(|b| {
                        b.len() == 1
                            && b.iter().all(|e| match peel_await(e) {
                                Expr::MethodCall(mc) => {
                                    matches!(
                                        mc.method.to_string().as_str(),
                                        "clone" | "try_clone" | "to_owned"
                                    ) && matches!(peel_await(&mc.receiver), Expr::Path(r)
                                        if r.path.get_ident().is_some_and(|ri| self.params.iter().any(|n| ri == n)))
                                }
                                _ => false,
                            })
                    })
            }),
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
