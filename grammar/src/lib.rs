//! The one vocabulary `#[retry_policy]`, `#[idempotent]` and `#[exempt]` are written in, shared by
//! the proc-macros (which compile them) and the gate (which reads them), so the two cannot drift.
//!
//! For any attribute argument, [`attributes`] is the one place that defines it: its name, what
//! kind of value it takes, its default and whether it is required. The values themselves are
//! defined here too: [`duration`] (the one duration syntax), [`fresh`] (values that change on
//! every call and so cannot make a key), [`rules`] (the rule ids an exemption may name),
//! [`vocab`] (retry crates and web-framework words the gate recognises) and [`defaults`] (what the
//! runtime does for an argument left out).
//!
//! The crate has no dependencies: the macros depend on it, and every user build compiles them.
#![forbid(unsafe_code)]

pub mod attributes;
pub mod defaults;
pub mod duration;
pub mod fresh;
pub mod rules;
pub mod vocab;
