//! Facts extracted from Rust sources (routes, handlers, retry sites, policies, key sources).

/// Everything the Rust front-end knows after resolving handlers across the crate.
#[derive(Debug, Default)]
pub struct RustModel {}
