//! Facts extracted from Rust sources: routes and their handlers, retry sites, retry-library
//! uses, retry policies and idempotency-key sources. Handlers are already resolved across the
//! crate when rules see them; rules never look at syntax.

use crate::location::Location;

/// Everything the Rust front-end knows after resolving handlers across the crate.
#[derive(Debug, Default)]
pub struct RustModel {
    pub routes: Vec<Route>,
    /// Registrations whose handler could not be found (GATE002).
    pub unresolved: Vec<UnresolvedRegistration>,
    pub retry_sites: Vec<RetrySite>,
    pub retry_library_uses: Vec<RetryLibraryUse>,
    pub policies: Vec<PolicyFn>,
    pub key_sources: Vec<KeySource>,
    /// What each `#[idempotent(…)]` function enforces (key header, ttl), by function.
    pub idempotent_fns: Vec<IdempotentFn>,
    /// Facts left unresolved because their crate exceeded the analysis budget (GATE003).
    pub budget_exceeded: Vec<BudgetExceeded>,
}

/// A path that was not resolved because its crate ran out of analysis budget.
#[derive(Debug, Clone)]
pub struct BudgetExceeded {
    pub location: Location,
    /// The crate (its folder).
    pub krate: String,
    /// The path as written.
    pub text: String,
}

/// The web framework a registration was written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framework {
    Axum,
    ActixWeb,
    Rocket,
    Poem,
    PoemOpenApi,
    Utoipa,
    /// An attribute route (`#[post("/x")]`) whose framework the file does not name.
    Attribute,
}

impl Framework {
    pub fn as_str(self) -> &'static str {
        match self {
            Framework::Axum => "axum",
            Framework::ActixWeb => "actix-web",
            Framework::Rocket => "rocket",
            Framework::Poem => "poem",
            Framework::PoemOpenApi => "poem-openapi",
            Framework::Utoipa => "utoipa",
            Framework::Attribute => "attribute route",
        }
    }
}

/// One HTTP method on one path, served by one handler.
#[derive(Debug, Clone)]
pub struct Route {
    /// Upper-case HTTP method.
    pub method: String,
    /// The full path (scope and nest prefixes applied) when it is a literal.
    pub path: Option<String>,
    pub framework: Framework,
    /// Where the route is registered (the `.route(…)` call or the routing attribute).
    pub registration: Location,
    pub handler: Handler,
    /// The idempotency middleware covering the route (`.layer`, `.route_layer`, `.wrap`).
    pub covered_by_layer: Option<String>,
}

/// What serves a route.
#[derive(Debug, Clone)]
pub enum Handler {
    /// A function of the scanned crate.
    Resolved(HandlerFn),
    /// An inline closure or async block: nothing can carry `#[idempotent]`.
    Closure,
    /// A path the gate could not follow (reported by GATE002, not by IDEM001).
    Unresolved { text: String, reason: String },
}

/// A handler function found in the crate.
#[derive(Debug, Clone)]
pub struct HandlerFn {
    /// Crate-relative path, e.g. `crate::orders::create`.
    pub path: String,
    /// The function's name.
    pub location: Location,
    /// Carries `#[idempotent(…)]`.
    pub idempotent: bool,
    /// What the handler does, following its calls into the scanned crates (IDEM001).
    pub effects: HandlerEffects,
}

/// What a handler does to the world outside it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum HandlerEffects {
    /// Not classified (an idempotent handler, a route that is not side-effecting).
    #[default]
    NotAnalysed,
    /// It changes something: the first write found.
    Writes(Evidence),
    /// It calls or uses something the gate cannot see, and no write was found.
    Unknown(Evidence),
    /// It and everything it calls provably only read, validate, echo or compute.
    ReadOnly,
}

/// Why a handler is classified as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// E.g. "inserts into `orders`", "calls `payments::charge`, which the gate cannot see".
    pub description: String,
    pub location: Location,
    /// The functions called on the way from the handler to the evidence, outermost first.
    pub through: Vec<String>,
}

/// What one `#[idempotent(…)]` attribute enforces, as the spec pairing needs it.
#[derive(Debug, Clone)]
pub struct IdempotentFn {
    /// The function's name: the same location as [`HandlerFn::location`].
    pub location: Location,
    /// The `#[idempotent(…)]` attribute.
    pub attribute: Location,
    /// `key = header("Idempotency-Key")`: the header the key is read from.
    pub key_header: Option<String>,
    /// `ttl = "24h"`; `None` when not written (the runtime keeps keys 24 h).
    pub ttl: Option<Ttl>,
}

/// A `ttl = "…"` argument.
#[derive(Debug, Clone)]
pub struct Ttl {
    pub text: String,
    /// The window in seconds; `None` when the text is not a duration.
    pub seconds: Option<u64>,
    pub location: Location,
}

/// A registration the gate saw but could not resolve.
#[derive(Debug, Clone)]
pub struct UnresolvedRegistration {
    pub location: Location,
    /// The method when known (`None` for routes produced by a macro).
    pub method: Option<String>,
    pub path: Option<String>,
    /// The handler or macro as written.
    pub text: String,
    pub reason: String,
}

/// How a hand-rolled retry re-invokes its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetryKind {
    /// A `loop`, `while` or `for` that goes round again after the call failed.
    Loop,
    /// A function that calls itself after the call failed.
    Recursion,
}

/// The wait between attempts of a hand-rolled retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delay {
    /// No sleep at all between attempts.
    None,
    /// The same sleep every time.
    Constant,
    /// A growing but deterministic sleep (`delay *= 2`, `base * 2^n`).
    Deterministic,
    /// A sleep with a random component.
    Jittered,
    /// A sleep computed by something the gate cannot see (a helper function, a schedule
    /// iterator): never reported as constant.
    Unknown,
}

/// A hand-rolled retry: a loop or recursion that re-invokes a fallible call after it failed.
#[derive(Debug, Clone)]
pub struct RetrySite {
    pub kind: RetryKind,
    /// The `loop`/`while`/`for` keyword, or the recursive call.
    pub location: Location,
    /// Crate-relative path of the enclosing function.
    pub function: String,
    /// The retried call as written (shortened).
    pub call: String,
    pub call_location: Location,
    /// A bound on the number of attempts (a counter compared, a finite `for`).
    pub attempt_cap: bool,
    /// A bound on the total time (an elapsed time or deadline compared).
    pub time_cap: bool,
    pub delay: Delay,
    /// The sleep call, when there is one.
    pub delay_location: Option<Location>,
}

/// A direct use of a retry crate (`use backoff::…`, `tokio_retry::Retry::spawn(…)`).
#[derive(Debug, Clone)]
pub struct RetryLibraryUse {
    /// The crate as named in code (`backoff`, `tokio_retry`, `tower::retry`).
    pub library: String,
    pub location: Location,
    /// Crate-relative module path where it is used.
    pub module: String,
    pub kind: LibraryUseKind,
    /// The enclosing function, for uses inside one.
    pub function: Option<String>,
}

/// What a use of a retry crate does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LibraryUseKind {
    /// The call that runs the retries (`backoff::future::retry(…)`, `Retry::spawn(…)`,
    /// `op.retry(builder)`, `RetryTransientMiddleware::new_with_policy(…)`).
    Invocation,
    /// A builder, policy or error wrapper of the crate (`ExponentialBackoff::default()`).
    Support,
    /// A `use`/`extern crate` of the crate.
    Import,
}

/// A value given to a `#[retry_policy]` argument, with where it is written.
#[derive(Debug, Clone)]
pub struct PolicyArg<T> {
    pub value: T,
    pub location: Location,
}

/// The arguments of a `#[retry_policy(…)]`. Durations are in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct PolicyArgs {
    pub max_attempts: Option<PolicyArg<u64>>,
    pub base_ms: Option<PolicyArg<u64>>,
    pub cap_ms: Option<PolicyArg<u64>>,
    pub max_elapsed_ms: Option<PolicyArg<u64>>,
    pub jitter: Option<PolicyArg<String>>,
    pub budget: Option<PolicyArg<String>>,
    pub breaker: Option<PolicyArg<String>>,
}

/// A function carrying `#[retry_policy(…)]`.
#[derive(Debug, Clone)]
pub struct PolicyFn {
    /// Crate-relative path, e.g. `crate::payments::Client::charge`.
    pub path: String,
    /// The function's name.
    pub location: Location,
    /// The `#[retry_policy]` attribute.
    pub attribute: Location,
    pub args: PolicyArgs,
    /// Carries `#[idempotent(…)]` too.
    pub idempotent: bool,
    /// Calls to other `#[retry_policy]` functions (resolved).
    pub nested: Vec<PolicyCall>,
    /// Side effects performed without an idempotency key (outbound POST/PATCH, or calls to
    /// functions that perform one).
    pub side_effects: Vec<SideEffect>,
}

/// A call from one policy function to another.
#[derive(Debug, Clone)]
pub struct PolicyCall {
    pub callee: String,
    pub location: Location,
    /// The callee's `#[retry_policy]` attribute.
    pub callee_attribute: Location,
}

/// A side effect inside (or reached from) a policy function.
#[derive(Debug, Clone)]
pub struct SideEffect {
    /// E.g. `outbound POST` or `call to crate::mail::send (outbound POST)`.
    pub description: String,
    pub location: Location,
}

/// Where an idempotency key is supplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeySink {
    /// `#[idempotent(key = …)]`.
    Attribute,
    /// An `Idempotency-Key` request header.
    Header,
}

/// An idempotency key built from a value that is fresh on every attempt (IDEM002).
#[derive(Debug, Clone)]
pub struct KeySource {
    /// The fresh value (`Uuid::new_v4`, `Utc::now`, …).
    pub location: Location,
    pub source: String,
    pub sink: KeySink,
    /// The attribute or header call the value flows into.
    pub sink_location: Location,
    /// Crate-relative path of the enclosing function.
    pub function: String,
}
