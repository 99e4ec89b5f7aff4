//! Proc-macro attributes of idemgate: `#[retry_policy]`, `#[idempotent]`, `#[exempt]`.
//!
//! They are what the gate (`idemgate check`) reads, and they expand to the runtime of the
//! `idemgate` crate, which re-exports them; depend on `idemgate`, not on this crate.
//! Arguments are validated at compile time (durations, `max_attempts`, fresh-value keys,
//! reasons); every error is spanned at the offending token and the original item is still
//! emitted, so the rest of the crate keeps type-checking in the IDE.
//!
//! Every argument (its name, kind, default, whether it is required), the duration syntax, the
//! fresh values a key may not use and the rule ids `#[exempt]` takes are defined once, in
//! `idemgate_grammar`, which the gate (`idemgate check`) reads with too.
#![forbid(unsafe_code)]

mod args;
mod exempt;
mod fresh;
mod idempotent;
mod retry;

use proc_macro::TokenStream;

/// Runs the body of an async fn once per attempt under a retry policy.
///
/// ```ignore
/// #[retry_policy(max_attempts = 4, base = "200ms", cap = "5s", max_elapsed = "10s",
///                jitter = "full", retry_on = is_transient, budget = "payments", breaker = "psp")]
/// async fn charge(&self, order: &Order) -> Result<Receipt, PayError> { ... }
/// ```
///
/// Arguments: `max_attempts` (≥ 1, counts the first attempt), `base`, `cap`, `max_elapsed`
/// (durations such as `"200ms"`, `"5s"`), `jitter` (`"full"`, `"equal"`, `"decorrelated"`,
/// `"none"`), `retry_on` (a predicate `Fn(&E) -> impl Classification`; without it the error type
/// implements `idemgate::retry::Retryable`), `budget` (a name, or `"none"`), `breaker` (a name).
///
/// Without `breaker` the error type may be anything: nothing refuses the first attempt, and a
/// spent budget, `max_elapsed` or the attempt cap return the last error. With `breaker` the
/// policy can refuse before any attempt, so the error type needs `From<idemgate::Error>`; a
/// missing one is a compile error at the `breaker` argument that says so.
///
/// Shared references are reused by every attempt, `&mut` arguments (and `&mut self`) are lent
/// to one attempt at a time, owned arguments are cloned per attempt (a non-`Clone` owned argument
/// is a compile error that names it). `self` by value and sync fns are compile errors.
#[proc_macro_attribute]
pub fn retry_policy(args: TokenStream, item: TokenStream) -> TokenStream {
    with_item_on_error(retry::expand, args, item)
}

/// Runs an operation at most once per idempotency key.
///
/// ```ignore
/// #[idempotent(key = header("Idempotency-Key"), scope = header("X-Tenant"), ttl = "24h")] // axum handler
/// #[idempotent(key = header("Idempotency-Key"), scope = principal, fingerprint = fields("amount", "currency"))]
/// #[idempotent(key = parts("email", order_id, "receipt"), scope = tenant, ttl = "15m")]  // any async fn
/// #[idempotent(natural_key = "event.id")]
/// #[idempotent(conditional)]
/// ```
///
/// Arguments: one strategy (`key`, `natural_key`, `conditional`), `ttl` (retention, 24h),
/// `lease` (how long an execution holds the key before a crashed one is taken over, 60s),
/// `wait` (opt-in: a concurrent duplicate waits this long for the result instead of failing
/// with `InFlight` / 409), `scope` (whose keys: an expression on a plain fn; on a handler
/// `header("X-Tenant")`, `principal` — the `Principal` an auth layer sets — or `none`, every
/// caller shares keys; a handler needs one, or a `Principal` parameter), `store` (an expression dereferencing to an
/// `IdempotencyStore`; default: the process-wide `MemoryStore`), `fingerprint` (plain fns:
/// bytes that identify the payload; handlers: `fields("a", "b")`, only these top-level fields
/// of a JSON body, so a retry that changes another field replays). Keys built from fresh
/// values (`Uuid::new_v4()`, `rand`, `now()`) are compile errors.
///
/// `key = parts(a, "b", c)` composes a key from several values with `idemgate::Key`: parts are
/// escaped and joined by `:`, so no choice of values can make two different part lists give
/// the same key (unlike `format!("{a}:{c}")`, where `a = "x:y"` runs into `c`).
///
/// On a plain fn the key is scoped by `scope` (none: the fn alone) and the fn's path; only
/// `Ok` values are stored (an `Err` releases the key so a retry executes); store failures,
/// invalid keys and in-flight duplicates reach the caller as `E::from(idemgate::Error)`.
/// On an axum handler (`key = header(..)`, feature `axum`) the protocol of
/// `idemgate::http::Idempotency` applies: 409 in flight, replay with
/// `Idempotent-Replayed: true`, 422 on another payload, 400 without a valid key, 503 when the
/// store is down. An actix-web handler (feature `actix`) gets the same protocol through
/// `idemgate::http::actix::Idempotency`; it is recognised by an actix route attribute
/// (`#[post("/orders")]`, kept on the protected handler) or by actix types in its signature
/// (`web::Json`, `web::Data`, `HttpRequest`, `HttpResponse`, `impl Responder`). `natural_key` is for plain fns; `conditional` leaves the item unchanged (the
/// compare-and-set is the fn's own) and is read by the gate.
#[proc_macro_attribute]
pub fn idempotent(args: TokenStream, item: TokenStream) -> TokenStream {
    with_item_on_error(idempotent::expand, args, item)
}

/// Exempts an item from one gate rule, with a mandatory reason; expands to the item unchanged.
///
/// ```ignore
/// #[exempt(IDEM001, reason = "compare-and-set on booking.version; see ADR-12")]
/// ```
#[proc_macro_attribute]
pub fn exempt(args: TokenStream, item: TokenStream) -> TokenStream {
    with_item_on_error(exempt::expand, args, item)
}

type Expand =
    fn(proc_macro2::TokenStream, proc_macro2::TokenStream) -> syn::Result<proc_macro2::TokenStream>;

/// On error, emit the item unchanged next to the errors (as tokio-macros does), so that one
/// bad argument does not turn every use of the fn into a second error.
fn with_item_on_error(expand: Expand, args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    match expand(args.into(), item.clone()) {
        Ok(expanded) => expanded.into(),
        Err(error) => {
            let mut out = item;
            out.extend(error.into_compile_error());
            out.into()
        }
    }
}
