//! The shape of a retry inside a loop body: a fallible call whose failure goes round again
//! while its success leaves (also inside `select!` branches).

use syn::{Block, Expr, Pat, Stmt};

use crate::rust::dataflow::{call_of, is_call, Locals};
use crate::rust::outcome::{
    always_exits, block_exits, catch_all, continues, readiness_arm, variant,
};
use crate::rust::syntax::{last_ident, peel_await};

use super::waits::{block_sleeps, sleep_args, sleeps_in};

/// Finds, in a loop body, a fallible call whose failure goes round again and whose success
/// leaves the loop.
pub(crate) struct RetryShape<'ast, 'l> {
    pub(crate) locals: &'l Locals<'ast>,
    pub(crate) top_exit: bool,
    pub(crate) found: Option<&'ast Expr>,
    /// A call found inside a `select!` branch (parsed from the macro's tokens).
    pub(crate) found_in_select: Option<Expr>,
}

/// The branches of a `tokio::select!`/`futures::select!`: (pattern, future, handler).
pub(crate) fn select_branches(m: &syn::Macro) -> Vec<(Pat, Expr, Expr)> {
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
pub(crate) fn select_retry(m: &syn::Macro, top_exit: bool) -> Option<Expr> {
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

    pub(crate) fn stmts(&mut self, stmts: &'ast [Stmt]) {
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
                    if same_wait_either_way(m) {
                        // `Ok(None) => sleep(poll)`, `Err(e) => sleep(poll)`: a poll that runs
                        // at one cadence whatever happened — a schedule, not a retry
                        return;
                    }
                    if has_ok && err_goes_round && (ok_exit || (err_continue && self.top_exit)) {
                        self.found = Some(call);
                        return;
                    }
                    // `Err(_) if retryable => continue, res => break res`: a failure goes
                    // round, everything else leaves
                    let err_arm_continues = m
                        .arms
                        .iter()
                        .any(|a| variant(&a.pat, "Err") && !readiness_arm(a) && continues(&a.body));
                    let rest_leaves = m
                        .arms
                        .iter()
                        .any(|a| catch_all(&a.pat) && a.guard.is_none() && always_exits(&a.body));
                    if err_arm_continues && rest_leaves {
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
                    // `if let Some(r) = retry.run(|| op()).await { return r; }`: a retry state
                    // machine (it sleeps and answers `None` while attempts remain) driven by
                    // the loop
                    Expr::Let(l)
                        if variant(&l.pat, "Some")
                            && block_exits(&i.then_branch)
                            && els.is_none()
                            && call_of(&l.expr, self.locals).is_some_and(retry_driver) =>
                    {
                        self.found = call_of(&l.expr, self.locals);
                        return;
                    }
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
                            // `if r.is_err() { sleep(d); continue; }`: the failure waits and
                            // goes round of its own accord
                            if !on_ok && failure_waits_and_goes_round(&i.then_branch) {
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

/// A failure branch that waits and then goes round (`{ warn!(…); sleep(d).await; continue; }`):
/// the loop runs the failed call again after a delay of its own, whatever else it does.
fn failure_waits_and_goes_round(then: &Block) -> bool {
    block_sleeps(then)
        && !block_exits(then)
        && then
            .stmts
            .iter()
            .any(|s| matches!(s, Stmt::Expr(e, _) if continues(e)))
}

/// Whether the loop body leaves on the call's success: a `match` on it (or on the variable it
/// is bound to) with an `Ok` arm that always exits, or `if let Ok(v) = call { …exit… }`.
pub(crate) fn success_leaves<'ast>(body: &'ast Block, call: &Expr, locals: &Locals<'ast>) -> bool {
    use syn::visit::Visit;
    struct S<'l, 'ast> {
        call: &'l Expr,
        locals: &'l Locals<'ast>,
        found: bool,
    }
    impl<'ast> Visit<'ast> for S<'_, 'ast> {
        fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
            if call_of(&m.expr, self.locals).is_some_and(|c| std::ptr::eq(c, self.call))
                && m.arms
                    .iter()
                    .any(|a| variant(&a.pat, "Ok") && always_exits(&a.body))
            {
                self.found = true;
            }
            syn::visit::visit_expr_match(self, m);
        }
        fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
            if let Expr::Let(l) = peel_await(&i.cond) {
                if variant(&l.pat, "Ok")
                    && block_exits(&i.then_branch)
                    && call_of(&l.expr, self.locals).is_some_and(|c| std::ptr::eq(c, self.call))
                {
                    self.found = true;
                }
            }
            syn::visit::visit_expr_if(self, i);
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut s = S {
        call,
        locals,
        found: false,
    };
    s.visit_block(body);
    s.found
}

/// A call on a retry state machine: `retry.run(f)`, `self.retrier.attempt(f)`,
/// `Retry::run(&mut r, f)` — its receiver or path is named for retrying.
pub(crate) fn retry_driver(call: &Expr) -> bool {
    let named = |s: &str| {
        let s = s.to_ascii_lowercase();
        s.contains("retry") || s.contains("retrier")
    };
    match peel_await(call) {
        Expr::MethodCall(mc) => {
            let mut r = peel_await(&mc.receiver);
            loop {
                match r {
                    Expr::Field(f) => match &f.member {
                        syn::Member::Named(n) if named(&n.to_string()) => return true,
                        _ => r = peel_await(&f.base),
                    },
                    Expr::Path(p) => {
                        return p.path.segments.iter().any(|s| named(&s.ident.to_string()))
                    }
                    Expr::Reference(x) => r = peel_await(&x.expr),
                    _ => return false,
                }
            }
        }
        Expr::Call(c) => matches!(peel_await(&c.func), Expr::Path(p)
            if p.path.segments.iter().rev().skip(1).any(|s| named(&s.ident.to_string()))),
        _ => false,
    }
}

/// Whether a success arm that goes round waits the very delay a failure arm waits.
fn same_wait_either_way(m: &syn::ExprMatch) -> bool {
    use quote::ToTokens;
    let text = |e: &Expr| e.to_token_stream().to_string();
    let err_waits: Vec<String> = m
        .arms
        .iter()
        .filter(|a| (variant(&a.pat, "Err") || catch_all(&a.pat)) && !always_exits(&a.body))
        .flat_map(|a| {
            let b: &Expr = &a.body;
            match b {
                Expr::Block(bl) => sleep_args(&bl.block)
                    .into_iter()
                    .map(text)
                    .collect::<Vec<_>>(),
                other => match peel_await(other) {
                    Expr::Call(c) => c.args.first().map(text).into_iter().collect(),
                    _ => Vec::new(),
                },
            }
        })
        .filter(|t| !t.is_empty())
        .collect();
    !err_waits.is_empty()
        && m.arms.iter().any(|a| {
            variant(&a.pat, "Ok")
                && !variant(&a.pat, "Err")
                && !always_exits(&a.body)
                && sleeps_in(&a.body)
                && {
                    let ok = text(&a.body);
                    err_waits.iter().any(|w| ok.contains(w.as_str()))
                }
        })
}
