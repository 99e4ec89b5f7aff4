//! `idemgate check`: the CI gate for idempotency and retry discipline.
//!
//! `files → facts (routes, operations, retry sites, policies, key sources) → findings → report`.
//! [`discover`] finds the files, the front-ends ([`rust`], [`openapi`]) turn each into facts,
//! [`engine`] links them into the model and runs the rule catalog, [`report`] renders.
#![forbid(unsafe_code)]

pub mod adoption;
pub mod baseline;
pub mod changed;
pub mod config;
pub mod config_docs;
pub mod contract;
pub mod discover;
pub mod engine;
pub mod init;
pub mod nearest;
pub mod openapi;
pub mod paths;
pub mod report;
pub mod rule_docs;
pub mod rust;
pub mod source;
