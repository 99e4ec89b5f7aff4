//! Shared helpers for the unit tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crate::{Error, Retryability, Retryable};

/// An operation error that says what it is.
#[derive(Debug, PartialEq)]
pub(crate) enum TestErr {
    Transient,
    Permanent,
    Throttled(Option<Duration>),
    Gate(String),
}

impl From<Error> for TestErr {
    fn from(e: Error) -> Self {
        TestErr::Gate(e.to_string())
    }
}

impl Retryable for TestErr {
    fn retryability(&self) -> Retryability {
        match self {
            TestErr::Transient => Retryability::Transient,
            TestErr::Throttled(d) => Retryability::Throttled { retry_after: *d },
            TestErr::Permanent | TestErr::Gate(_) => Retryability::Permanent,
        }
    }
}
