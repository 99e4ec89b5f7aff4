//! Exits and outcome tests: whether an expression always leaves the loop, whether a pattern
//! matches a success or a failure, and which failures mean "not ready" rather than "failed".

use syn::visit::Visit;
use syn::{Block, Expr, Pat, Stmt};

use super::dataflow::Words;
use super::syntax::{last_ident, peel_await};

pub(crate) fn variant(pat: &Pat, name: &str) -> bool {
    match pat {
        Pat::TupleStruct(ts) => ts.path.segments.last().is_some_and(|s| s.ident == name),
        Pat::Paren(p) => variant(&p.pat, name),
        // `ok @ Ok(_)`
        Pat::Ident(i) => i.subpat.as_ref().is_some_and(|(_, sp)| variant(sp, name)),
        Pat::Or(o) => o.cases.iter().any(|c| variant(c, name)),
        _ => false,
    }
}

pub(crate) fn catch_all(pat: &Pat) -> bool {
    match pat {
        Pat::Wild(_) => true,
        Pat::Ident(i) => i.subpat.is_none(),
        _ => false,
    }
}

/// Failures that mean "not ready yet" or "go on reading", not "the call failed": a
/// non-blocking operation restarted on `WouldBlock`/`EINTR`, a receiver that `Lagged`, a local
/// queue that is `Empty`/`Full`. Going round on them is not a retry.
pub(crate) const READINESS: &[&str] = &[
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

pub(crate) fn readiness_arm(a: &syn::Arm) -> bool {
    let mut ids = Vec::new();
    let mut w = Words::default();
    w.visit_pat(&a.pat);
    if let Some((_, g)) = &a.guard {
        w.visit_expr(g);
    }
    ids.extend(w.idents.into_iter().map(|(i, _)| i));
    ids.iter().any(|i| READINESS.contains(&i.as_str()))
}

/// Leaves the enclosing loop (or function) on every path.
pub(crate) fn always_exits(e: &Expr) -> bool {
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

pub(crate) fn diverging_macro(m: &syn::Macro) -> bool {
    m.path.segments.last().is_some_and(|s| {
        matches!(
            s.ident.to_string().as_str(),
            "panic" | "unreachable" | "bail" | "todo" | "unimplemented"
        )
    })
}

pub(crate) fn block_exits(b: &Block) -> bool {
    b.stmts.iter().any(stmt_exits)
}

pub(crate) fn stmt_exits(s: &Stmt) -> bool {
    match s {
        Stmt::Expr(e, _) => always_exits(e),
        Stmt::Macro(m) => diverging_macro(&m.mac),
        _ => false,
    }
}

pub(crate) fn continues(e: &Expr) -> bool {
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

pub(crate) fn contains_exit(e: &Expr) -> bool {
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

pub(crate) fn contains_exit_block(b: &Block) -> bool {
    b.stmts.iter().any(|s| match s {
        Stmt::Expr(e, _) => contains_exit(e),
        Stmt::Local(l) => l.init.as_ref().is_some_and(|i| contains_exit(&i.expr)),
        Stmt::Macro(m) => diverging_macro(&m.mac),
        Stmt::Item(_) => false,
    })
}

/// A receive (`rx.recv()`, `stream.next()`, `listener.accept()`, maybe under a `timeout`):
/// going round after a timeout or a lag keeps draining; it re-sends nothing.
pub(crate) fn receive(call: &Expr) -> bool {
    const RECEIVE: &[&str] = &[
        "next",
        "recv",
        "recv_async",
        "recv_many",
        "recv_timeout",
        "recv_deadline",
        "next_timeout",
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

/// The non-blocking polls of std, tokio and the common sync crates: they fail with "not now"
/// (empty, full, locked, still running), so going round on them waits on local state. A call
/// that merely starts with `try_` (`try_connect`, `try_json_proxy`) is an ordinary fallible call.
const NON_BLOCKING_POLLS: &[&str] = &[
    "try_recv",
    "try_send",
    "try_lock",
    "try_read",
    "try_write",
    "try_wait",
    "try_io",
    "try_borrow",
    "try_borrow_mut",
    "try_acquire",
    "try_acquire_owned",
    "try_acquire_many",
    "try_reserve",
    "try_push",
    "try_pop",
    "try_get",
    "try_insert",
    "try_lock_owned",
    "try_read_owned",
    "try_write_owned",
    "try_from",
    "try_into",
];

/// Calls on in-process primitives: a compare-and-swap loop or a `try_recv`/`try_lock` poll
/// goes round on contention, not on a failed remote call.
pub(crate) fn local_primitive(call: &Expr) -> bool {
    let name = match peel_await(call) {
        Expr::MethodCall(mc) => mc.method.to_string(),
        Expr::Call(c) => match peel_await(&c.func) {
            Expr::Path(p) => last_ident(&p.path),
            _ => return false,
        },
        _ => return false,
    };
    // compare-and-swap, non-blocking polls, conversions and parsers: they go round on
    // contention or to consume input, not on a failed remote call
    NON_BLOCKING_POLLS.contains(&name.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(s: &str) -> Expr {
        match syn::parse_str(s) {
            Ok(e) => e,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn only_the_non_blocking_polls_are_local() {
        assert!(local_primitive(&expr("rx.try_recv()")));
        assert!(local_primitive(&expr("m.try_lock()")));
        assert!(local_primitive(&expr("child.try_wait()")));
        assert!(local_primitive(&expr("sem.try_acquire_owned()")));
        assert!(!local_primitive(&expr("self.try_connect().await")));
        assert!(!local_primitive(&expr("client.try_json_proxy(req).await")));
    }

    #[test]
    fn exits_and_outcomes() {
        assert!(always_exits(&expr("return Ok(v)")));
        assert!(always_exits(&expr("{ log(); break v }")));
        assert!(!always_exits(&expr("if n > 3 { return Err(e) }")));
        assert!(always_exits(&expr(
            "match x { A => return 1, _ => panic!() }"
        )));
        let arm: syn::Arm = match syn::parse_str::<syn::ExprMatch>(
            "match r { Err(e) if e.kind() == WouldBlock => continue, _ => {} }",
        ) {
            Ok(m) => m.arms[0].clone(),
            Err(e) => panic!("{e}"),
        };
        assert!(readiness_arm(&arm));
        assert!(continues(&expr("{ warn!(); continue }")));
    }
}
