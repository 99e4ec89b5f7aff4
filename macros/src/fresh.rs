//! Finds values that are fresh on every call (random ids, clocks, counters) inside a key
//! expression. Such a key is different on every retry, so it deduplicates nothing (IDEM002).

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

fn segments(path: &Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// Why a called path yields a fresh value, if it does.
fn fresh_path(path: &Path) -> Option<&'static str> {
    let names = segments(path);
    let last = names.last()?.as_str();
    let first = names.first().map(String::as_str).unwrap_or_default();
    match last {
        "new_v1" | "new_v4" | "new_v6" | "new_v7" | "now_v1" | "now_v6" | "now_v7" => {
            return Some("a random or time-based UUID")
        }
        "thread_rng" | "rng" | "random" | "random_range" | "from_entropy" | "from_os_rng" => {
            return Some("a random number")
        }
        "now" | "now_utc" | "now_local" => return Some("the current time"),
        "nanoid" | "ulid" | "new_ulid" => return Some("a random id"),
        _ => {}
    }
    if matches!(first, "rand" | "fastrand" | "getrandom" | "nanoid") {
        return Some("a random number");
    }
    if last == "new" && names.iter().any(|n| n == "Ulid") {
        return Some("a random id");
    }
    None
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
        let what = match call.method.to_string().as_str() {
            "gen" | "gen_range" | "random" | "random_range" | "next_u32" | "next_u64" => {
                Some("a random number")
            }
            "fetch_add" | "fetch_sub" => Some("a counter"),
            "elapsed" => Some("the current time"),
            _ => None,
        };
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
        if matches!(name.as_str(), "nanoid" | "ulid") {
            self.report(mac, "a random id");
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
    }

    #[test]
    fn accepts_business_fields() {
        assert_eq!(count("format!(\"idem:{tenant}:{}:send\", order.id)"), 0);
        assert_eq!(count("order.id.to_string()"), 0);
        assert_eq!(count("key"), 0);
        assert_eq!(count("req.event_id.clone()"), 0);
    }
}
