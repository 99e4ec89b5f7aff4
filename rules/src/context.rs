//! What the configuration tells the rules. Built by the CLI from `idemgate.toml`.

use globset::GlobSet;

/// Governed limits for retry policies (RETRY007).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyLimits {
    pub max_attempts: u64,
    pub cap_ms: u64,
    pub max_elapsed_ms: u64,
    /// `budget = "none"` (or no budget) needs an exemption when this is true.
    pub require_budget: bool,
}

impl Default for PolicyLimits {
    fn default() -> Self {
        PolicyLimits {
            max_attempts: 5,
            cap_ms: 30_000,
            max_elapsed_ms: 60_000,
            require_budget: true,
        }
    }
}

/// The configuration, as rules need it.
#[derive(Debug, Clone)]
pub struct Context {
    /// Upper-case HTTP methods that are side-effecting (IDEM001, OAS001). Default POST, PATCH.
    pub side_effect_methods: Vec<String>,
    /// Route paths that form the guarded surface (IDEM001); `None` means every route.
    pub guarded_paths: Option<GlobSet>,
    /// Middleware type names that declare idempotency for a whole router (besides any name
    /// containing `Idempotency`).
    pub idempotency_layers: Vec<String>,
    /// Idempotency headers accepted as standard besides `Idempotency-Key` (OAS002).
    pub accepted_key_headers: Vec<String>,
    pub limits: PolicyLimits,
    /// IDEM001 at full severity on every side-effecting route, even when its handler provably
    /// only reads (by default such a handler gets an info-level note).
    pub strict_methods: bool,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            side_effect_methods: vec!["POST".into(), "PATCH".into()],
            guarded_paths: None,
            idempotency_layers: vec!["IdempotencyLayer".into()],
            accepted_key_headers: Vec::new(),
            limits: PolicyLimits::default(),
            strict_methods: false,
        }
    }
}

impl Context {
    /// Whether a route of `method` is side-effecting. `ANY` (an endpoint mounted for every
    /// method, like a poem `#[handler]` given to `.at`) is whenever any method is.
    pub fn is_side_effecting(&self, method: &str) -> bool {
        if method == "ANY" {
            return !self.side_effect_methods.is_empty();
        }
        self.side_effect_methods
            .iter()
            .any(|m| m.eq_ignore_ascii_case(method))
    }

    /// Whether a route path is in the guarded surface (always, when no globs are configured or
    /// the path is unknown).
    pub fn is_guarded(&self, path: Option<&str>) -> bool {
        match (&self.guarded_paths, path) {
            (Some(set), Some(p)) => set.is_match(p),
            _ => true,
        }
    }

    /// Whether a middleware name declares idempotency: a type or constructor that names it
    /// (`Idempotency…`, `Idempotent…`, `Dedup…`), a middleware function that does
    /// (`from_fn(idempotency)`, written `fn:idempotency` by the front-end), or a name listed
    /// in `idempotency-layers`. Plain variables (`idempotency_set`) do not count.
    pub fn is_idempotency_layer(&self, name: &str) -> bool {
        if self.idempotency_layers.iter().any(|l| l == name) {
            return true;
        }
        if let Some(f) = name.strip_prefix("fn:") {
            let f = f.to_ascii_lowercase();
            return f.contains("idempoten") || f.contains("dedup");
        }
        name.starts_with(|c: char| c.is_ascii_uppercase())
            && (name.contains("Idempoten") || name.contains("Dedup"))
    }
}
