//! The idemgate rule catalog.
//!
//! Data flow of the gate: `files → facts (the [`model`]) → findings → report`. This crate owns
//! the middle: the facts the front-ends extract, the rules that turn facts into [`Finding`]s,
//! and the [`registry`] that maps stable ids to rules. It does no I/O: rules never re-read files.
#![forbid(unsafe_code)]

pub mod context;
pub mod defaults;
pub mod duration;
pub mod finding;
pub mod location;
pub mod model;
pub mod registry;
pub mod rules;
pub mod suppress;

pub use context::Context;
pub use finding::{Finding, Label, Severity};
pub use location::{LineIndex, Location};
pub use model::Model;
pub use registry::{all_rules, find_rule, Rule, RuleMeta};
