//! Code and spec as one contract: which OpenAPI document is served by which Rust code, and how
//! its operations and the code's routes matched (by method and normalized path template). The
//! lint crate pairs and matches; the SPEC rules read the result.

use std::sync::Arc;

use crate::location::Location;

/// Every pairing of the scan and what matched inside it.
#[derive(Debug, Default)]
pub struct ContractModel {
    pub contracts: Vec<Contract>,
    /// A route and the spec operation it serves.
    pub matches: Vec<Match>,
    /// Routes of paired code (with a literal path) that no paired spec describes; SPEC003
    /// reports the side-effecting ones.
    pub unmatched_routes: Vec<Unmatched>,
    /// Spec operations no route of the paired code serves.
    pub unmatched_operations: Vec<Unmatched>,
}

/// One spec paired with the code that serves it.
#[derive(Debug, Clone)]
pub struct Contract {
    /// The spec's root file, relative to the scan root.
    pub spec: Arc<str>,
    /// The folders (or files) holding the code, relative to the scan root (`""` = the root).
    pub code: Vec<String>,
    /// The prefix put before every spec path (`base-path`, else the spec's `servers` prefix).
    pub base_path: String,
    pub origin: PairingOrigin,
}

/// Why a spec and code are paired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingOrigin {
    /// A `[[contracts]]` entry of the config, at this place.
    Config(Location),
    /// The spec lies inside the crate's folder (or next to its `Cargo.toml`).
    Implicit,
}

/// Route `route` (an index into `model.rust.routes`) serves operation `operation` (an index
/// into `model.openapi.operations`) of contract `contract`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub contract: usize,
    pub route: usize,
    pub operation: usize,
}

/// A route (or an operation) of contract `contract` with no counterpart; `index` points into
/// `model.rust.routes` (or `model.openapi.operations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unmatched {
    pub contract: usize,
    pub index: usize,
}

impl ContractModel {
    /// The contract's spec, for messages.
    pub fn spec_of(&self, contract: usize) -> &str {
        self.contracts.get(contract).map_or("", |c| &c.spec)
    }
}
