//! Small syntax helpers shared by the extractors: unwrapping expressions and reading paths.

use proc_macro2::Span;
use syn::{Expr, Path};

/// `e` without the parentheses, invisible groups and `&` around it.
pub fn peel(mut e: &Expr) -> &Expr {
    loop {
        match e {
            Expr::Paren(p) => e = &p.expr,
            Expr::Group(g) => e = &g.expr,
            Expr::Reference(r) => e = &r.expr,
            _ => return e,
        }
    }
}

/// Like [`peel`], and also without `.await` (the call inside is what is retried).
pub fn peel_await(mut e: &Expr) -> &Expr {
    loop {
        match peel(e) {
            Expr::Await(a) => e = &a.base,
            other => return other,
        }
    }
}

/// The identifiers of a path: `["backoff", "future", "retry"]`.
pub fn path_segments(path: &Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// The last identifier of a path (`retry` for `backoff::future::retry`), empty for none.
pub fn last_ident(path: &Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

/// The span of the last identifier of a path.
pub fn last_span(path: &Path) -> Span {
    path.segments
        .last()
        .map_or_else(Span::call_site, |s| s.ident.span())
}
