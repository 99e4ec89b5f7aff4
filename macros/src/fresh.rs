//! Finds values that are fresh on every call (random ids, clocks, counters) inside a key
//! expression. Such a key is different on every retry, so it deduplicates nothing (IDEM002).
//! What counts as fresh is `idemgate_grammar::fresh`, the list the gate reads with too.

use idemgate_grammar::fresh;
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Expr, ExprCall, ExprMethodCall, Macro, Path, Token};

/// Every fresh-value call inside `expr`, with the reason, spanned at the call.
pub(crate) fn fresh_values(expr: &Expr) -> Vec<syn::Error> {
    let mut finder = Finder::default();
    finder.visit_expr(expr);
    finder.found
}

#[derive(Default)]
struct Finder {
    found: Vec<syn::Error>,
}

impl Finder {
    fn report<T: ToTokens>(&mut self, at: T, what: &str) {
        self.found.push(syn::Error::new_spanned(
            at,
            format!(
                "idempotency key built from a fresh value ({what}): it changes on every attempt, so duplicates are never recognised; \
                 build the key from stable business fields (an order id, an event id, a client-supplied key)"
            ),
        ));
    }
}

/// Why a called path yields a fresh value, if it does (the grammar's list of sources).
fn fresh_path(path: &Path) -> Option<&'static str> {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    fresh::call(&names).map(fresh::Fresh::describe)
}

impl<'ast> Visit<'ast> for Finder {
    fn visit_expr_call(&mut self, call: &'ast ExprCall) {
        if let Expr::Path(func) = &*call.func {
            if let Some(what) = fresh_path(&func.path) {
                self.report(call, what);
            }
        }
        syn::visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast ExprMethodCall) {
        let what = fresh::method(&call.method.to_string()).map(fresh::Fresh::describe);
        if let Some(what) = what {
            self.report(call, what);
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        // format!/concat!-style macros take expressions; look inside them too.
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        if let Some(kind) = fresh::macro_call(&name) {
            self.report(mac, kind.describe());
            return;
        }
        let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
        if let Ok(args) = syn::parse::Parser::parse2(parser, mac.tokens.clone()) {
            for arg in &args {
                self.visit_expr(arg);
            }
        }
        // Inline format arguments (`{x}`) are plain identifiers and cannot call anything.
    }
}

#[cfg(test)]
mod tests {
    use super::fresh_values;

    fn count(src: &str) -> usize {
        let expr: syn::Expr = syn::parse_str(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        fresh_values(&expr).len()
    }

    #[test]
    fn flags_fresh_values() {
        assert_eq!(count("Uuid::new_v4().to_string()"), 1);
        assert_eq!(count("uuid::Uuid::now_v7()"), 1);
        assert_eq!(count("format!(\"k:{}\", rand::random::<u64>())"), 1);
        assert_eq!(
            count("format!(\"{}:{}\", id, SystemTime::now().elapsed())"),
            2
        );
        assert_eq!(count("thread_rng().gen::<u64>()"), 2);
        assert_eq!(count("COUNTER.fetch_add(1, Ordering::Relaxed)"), 1);
        assert_eq!(count("chrono::Utc::now().timestamp()"), 1);
        assert_eq!(count("Uuid::new_v6(ctx).to_string()"), 1);
        assert_eq!(count("StdRng::from_entropy().next_u64()"), 2);
        assert_eq!(count("getrandom::u64()"), 1);
        assert_eq!(count("started.elapsed().as_millis()"), 1);
    }

    #[test]
    fn accepts_business_fields() {
        assert_eq!(count("format!(\"idem:{tenant}:{}:send\", order.id)"), 0);
        assert_eq!(count("order.id.to_string()"), 0);
        assert_eq!(count("key"), 0);
        assert_eq!(count("req.event_id.clone()"), 0);
    }
}
