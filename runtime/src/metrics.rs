//! The metrics idemgate emits, through the [`metrics`](https://docs.rs/metrics) facade so any
//! exporter works (Prometheus, StatsD, OpenTelemetry…), and the `tracing` events that go with
//! them. No retry is invisible.
//!
//! | name | kind | labels | meaning |
//! |---|---|---|---|
//! | `idemgate_calls_total` | counter | `operation`, `outcome` | logical calls under a retry policy, by final outcome: `success`, `permanent` (not retryable), `exhausted` (max attempts), `deadline` (max elapsed), `budget_exhausted`, `circuit_open`, `nested` (error returned by a suppressed inner layer) |
//! | `idemgate_attempts_total` | counter | `operation` | attempts made (first attempts included); amplification = `attempts_total / calls_total` |
//! | `idemgate_retries_total` | counter | `operation`, `reason` | retries started, by `reason`: `transient`, `throttled` |
//! | `idemgate_nested_retry_suppressed_total` | counter | `operation` | failures of a policy called inside another policy's attempt, returned without retrying (one retry layer) |
//! | `idemgate_budget_exhausted_total` | counter | `budget` | retries refused by a budget (`budget` = the budget name, or `task` for a task-scoped budget) |
//! | `idemgate_breaker_opens_total` | counter | `breaker` | transitions to open (from closed or half-open) |
//! | `idemgate_breaker_state` | gauge | `breaker` | current state: 0 closed, 1 half-open, 2 open |
//! | `idemgate_breaker_rejected_total` | counter | `breaker` | calls refused because the breaker was open |
//! | `idemgate_idempotency_executions_total` | counter | `operation` | first executions under an idempotency key |
//! | `idemgate_idempotency_replays_total` | counter | `operation` | duplicates answered with the stored result (suppressed side effects) |
//! | `idemgate_idempotency_conflicts_total` | counter | `operation` | duplicates refused while the first is in flight (409) |
//! | `idemgate_idempotency_mismatches_total` | counter | `operation` | keys reused with a different payload (422) |
//! | `idemgate_idempotency_store_errors_total` | counter | `operation`, `phase` | store failures (`phase` = `begin`, `complete`, `release`); at `begin` the operation is not run (fail closed) |
//! | `idemgate_idempotency_abandoned_total` | counter | `operation` | executions abandoned mid-flight (their future dropped, e.g. a client hung up); their keys are released at once |
//!
//! Label values: `operation` is the protected function's path (`my_crate::payments::charge`,
//! one per dependency call site or route handler); `budget` and `breaker` are the names given
//! in `#[retry_policy(budget = …, breaker = …)]`. A test checks that this table and the
//! names and labels the runtime emits agree. The alert rules and the dashboard built on these
//! names ship in the repository's `observability/` folder.
//!
//! Metric handles for the success path are registered on a policy's first call: install the
//! recorder at start-up, before the first call, as with any `metrics` user.
//!
//! `tracing` events (target `idemgate`): `debug` for each retry (operation, attempt, delay,
//! reason), `warn` when a budget is exhausted or a breaker opens, `info` when a breaker
//! half-opens or closes, `error` when a completed result cannot be stored.

/// Counter: logical calls by final outcome. Labels: `operation`, `outcome`.
pub const CALLS: &str = "idemgate_calls_total";
/// Counter: attempts, first attempts included. Label: `operation`.
pub const ATTEMPTS: &str = "idemgate_attempts_total";
/// Counter: retries by reason. Labels: `operation`, `reason`.
pub const RETRIES: &str = "idemgate_retries_total";
/// Counter: failures returned without retry because the call was nested in another policy.
pub const NESTED_SUPPRESSED: &str = "idemgate_nested_retry_suppressed_total";
/// Counter: retries refused by an exhausted budget. Label: `budget`.
pub const BUDGET_EXHAUSTED: &str = "idemgate_budget_exhausted_total";
/// Counter: breaker transitions to open. Label: `breaker`.
pub const BREAKER_OPENS: &str = "idemgate_breaker_opens_total";
/// Gauge: breaker state (0 closed, 1 half-open, 2 open). Label: `breaker`.
pub const BREAKER_STATE: &str = "idemgate_breaker_state";
/// Counter: calls refused by an open breaker. Label: `breaker`.
pub const BREAKER_REJECTED: &str = "idemgate_breaker_rejected_total";
/// Counter: first executions under an idempotency key. Label: `operation`.
pub const IDEMPOTENCY_EXECUTIONS: &str = "idemgate_idempotency_executions_total";
/// Counter: duplicates answered from the store. Label: `operation`.
pub const IDEMPOTENCY_REPLAYS: &str = "idemgate_idempotency_replays_total";
/// Counter: duplicates refused while in flight. Label: `operation`.
pub const IDEMPOTENCY_CONFLICTS: &str = "idemgate_idempotency_conflicts_total";
/// Counter: key reused with another payload. Label: `operation`.
pub const IDEMPOTENCY_MISMATCHES: &str = "idemgate_idempotency_mismatches_total";
/// Counter: idempotency store failures. Labels: `operation`, `phase`.
pub const IDEMPOTENCY_STORE_ERRORS: &str = "idemgate_idempotency_store_errors_total";
/// Counter: executions abandoned mid-flight (their future dropped, e.g. a client
/// disconnect); their keys are released. Label: `operation`.
pub const IDEMPOTENCY_ABANDONED: &str = "idemgate_idempotency_abandoned_total";

/// Every metric name, for exporters that want to pre-describe them.
pub const ALL: &[&str] = &[
    CALLS,
    ATTEMPTS,
    RETRIES,
    NESTED_SUPPRESSED,
    BUDGET_EXHAUSTED,
    BREAKER_OPENS,
    BREAKER_STATE,
    BREAKER_REJECTED,
    IDEMPOTENCY_EXECUTIONS,
    IDEMPOTENCY_REPLAYS,
    IDEMPOTENCY_CONFLICTS,
    IDEMPOTENCY_MISMATCHES,
    IDEMPOTENCY_STORE_ERRORS,
    IDEMPOTENCY_ABANDONED,
];

/// The `outcome` values of [`CALLS`].
pub const OUTCOMES: &[&str] = &[
    "success",
    "permanent",
    "exhausted",
    "deadline",
    "budget_exhausted",
    "circuit_open",
    "nested",
];

/// The `reason` values of [`RETRIES`].
pub const REASONS: &[&str] = &["transient", "throttled"];

/// Registers at zero every series a policy can emit for `operation`, its budget and its
/// breaker, once per policy: a counter that first appears mid-incident loses its first
/// scrape's worth to `rate()`/`increase()` (Prometheus sees no earlier zero), which would
/// understate refused calls and overstate amplification right when an alert needs them.
pub(crate) fn register_policy(
    operation: &'static str,
    budget: Option<&'static str>,
    breaker: Option<&'static str>,
) {
    // Adding zero registers the series without touching a value another policy already set.
    for &outcome in OUTCOMES {
        ::metrics::counter!(crate::metrics::CALLS, "operation" => operation, "outcome" => outcome)
            .increment(0);
    }
    ::metrics::counter!(crate::metrics::ATTEMPTS, "operation" => operation).increment(0);
    for &reason in REASONS {
        ::metrics::counter!(crate::metrics::RETRIES, "operation" => operation, "reason" => reason)
            .increment(0);
    }
    ::metrics::counter!(crate::metrics::NESTED_SUPPRESSED, "operation" => operation).increment(0);
    if let Some(budget) = budget {
        ::metrics::counter!(crate::metrics::BUDGET_EXHAUSTED, "budget" => budget).increment(0);
    }
    if let Some(breaker) = breaker {
        ::metrics::counter!(crate::metrics::BREAKER_OPENS, "breaker" => breaker).increment(0);
        ::metrics::counter!(crate::metrics::BREAKER_REJECTED, "breaker" => breaker).increment(0);
        ::metrics::gauge!(crate::metrics::BREAKER_STATE, "breaker" => breaker).increment(0.0);
    }
}

/// Registers descriptions of every metric with the installed recorder.
pub fn describe() {
    use ::metrics::{describe_counter, describe_gauge};
    describe_counter!(
        CALLS,
        "logical calls under a retry policy, by final outcome"
    );
    describe_counter!(ATTEMPTS, "attempts made, first attempts included");
    describe_counter!(RETRIES, "retries started, by reason");
    describe_counter!(
        NESTED_SUPPRESSED,
        "nested-policy failures returned without retry"
    );
    describe_counter!(
        BUDGET_EXHAUSTED,
        "retries refused by an exhausted retry budget"
    );
    describe_counter!(BREAKER_OPENS, "circuit breaker transitions to open");
    describe_gauge!(
        BREAKER_STATE,
        "circuit breaker state: 0 closed, 1 half-open, 2 open"
    );
    describe_counter!(BREAKER_REJECTED, "calls refused by an open circuit breaker");
    describe_counter!(
        IDEMPOTENCY_EXECUTIONS,
        "first executions under an idempotency key"
    );
    describe_counter!(
        IDEMPOTENCY_REPLAYS,
        "duplicates answered with the stored result"
    );
    describe_counter!(
        IDEMPOTENCY_CONFLICTS,
        "duplicates refused while the first is in flight"
    );
    describe_counter!(
        IDEMPOTENCY_MISMATCHES,
        "idempotency keys reused with another payload"
    );
    describe_counter!(
        IDEMPOTENCY_STORE_ERRORS,
        "idempotency store failures by phase"
    );
    describe_counter!(
        IDEMPOTENCY_ABANDONED,
        "executions abandoned mid-flight whose keys were released"
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    //! The table above is the contract operators build alerts on: every name the runtime
    //! emits is in it, with the same kind and the same labels, and nothing else is.

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    const SOURCE: &str = include_str!("metrics.rs");

    #[derive(Debug, PartialEq)]
    struct Row {
        kind: String,
        labels: BTreeSet<String>,
    }

    /// The documented table: name → kind and labels.
    fn table() -> BTreeMap<String, Row> {
        let mut rows = BTreeMap::new();
        for line in SOURCE.lines() {
            let Some(row) = line.strip_prefix("//! | `") else {
                continue;
            };
            let cells: Vec<&str> = row.split(" | ").collect();
            let name = cells[0].trim_end_matches('`').to_owned();
            let labels = cells[2]
                .split(',')
                .map(|l| l.trim().trim_matches('`').to_owned())
                .filter(|l| !l.is_empty())
                .collect();
            let row = Row {
                kind: cells[1].to_owned(),
                labels,
            };
            assert!(rows.insert(name.clone(), row).is_none(), "{name} twice");
        }
        rows
    }

    /// `pub const IDENT: &str = "name";` in this file.
    fn constants() -> BTreeMap<String, String> {
        SOURCE
            .lines()
            .filter_map(|l| l.strip_prefix("pub const "))
            .filter_map(|l| {
                let (ident, rest) = l.split_once(": &str = \"")?;
                Some((ident.to_owned(), rest.split('"').next()?.to_owned()))
            })
            .collect()
    }

    fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), text));
            }
        }
    }

    /// Every counter, gauge or histogram macro call naming a constant of this module, in the
    /// runtime's sources: (name, kind, label keys, where).
    fn emitted() -> Vec<(String, String, BTreeSet<String>, String)> {
        let constants = constants();
        let mut files = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut found = Vec::new();
        for (file, text) in &files {
            for kind in ["counter", "gauge", "histogram"] {
                let call = format!("{kind}!(crate::metrics::");
                for (at, _) in text.match_indices(&call) {
                    let rest = &text[at + call.len()..];
                    let ident: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let name = constants
                        .get(&ident)
                        .unwrap_or_else(|| panic!("{file}: crate::metrics::{ident} is no name"));
                    let args = &rest[ident.len()..];
                    let end = [";", "crate::metrics::", "\n\n"]
                        .iter()
                        .filter_map(|stop| args.find(stop))
                        .min()
                        .unwrap_or(args.len());
                    let labels = label_keys(&args[..end]);
                    let line = text[..at].matches('\n').count() + 1;
                    found.push((
                        name.clone(),
                        kind.to_owned(),
                        labels,
                        format!("{file}:{line}"),
                    ));
                }
            }
        }
        found
    }

    /// The string literals followed by `=>` in a macro's arguments: its label keys.
    fn label_keys(args: &str) -> BTreeSet<String> {
        let mut keys = BTreeSet::new();
        let mut rest = args;
        while let Some(open) = rest.find('"') {
            let Some(len) = rest[open + 1..].find('"') else {
                break;
            };
            let literal = &rest[open + 1..open + 1 + len];
            rest = &rest[open + len + 2..];
            if rest.trim_start().starts_with("=>") {
                keys.insert(literal.to_owned());
            }
        }
        keys
    }

    #[test]
    fn the_table_lists_every_name_once_and_only_the_names() {
        let table = table();
        let documented: BTreeSet<&str> = table.keys().map(String::as_str).collect();
        let all: BTreeSet<&str> = super::ALL.iter().copied().collect();
        assert_eq!(documented, all, "the table and metrics::ALL differ");
        assert_eq!(super::ALL.len(), all.len(), "a name twice in ALL");
        assert_eq!(constants().len(), all.len(), "a constant missing from ALL");
    }

    #[test]
    fn every_emitted_metric_has_the_kind_and_labels_of_its_row() {
        let table = table();
        let emitted = emitted();
        assert!(emitted.len() >= super::ALL.len(), "{emitted:#?}");
        for (name, kind, labels, at) in &emitted {
            let row = table
                .get(name)
                .unwrap_or_else(|| panic!("{at}: {name} is emitted but not documented"));
            assert_eq!(&row.kind, kind, "{at}: {name}");
            assert_eq!(&row.labels, labels, "{at}: {name}");
        }
        let names: BTreeSet<&str> = emitted.iter().map(|e| e.0.as_str()).collect();
        for name in super::ALL {
            assert!(
                names.contains(name),
                "{name} is documented but never emitted"
            );
        }
    }

    #[test]
    fn every_outcome_the_retry_executor_reports_is_registered_up_front() {
        let retry = include_str!("retry.rs");
        let mut reported = BTreeSet::new();
        for prefix in ["break 'retry \"", "count_call(handles.operation, \""] {
            for (at, _) in retry.match_indices(prefix) {
                let rest = &retry[at + prefix.len()..];
                reported.insert(rest[..rest.find('"').unwrap()].to_owned());
            }
        }
        let registered: BTreeSet<String> =
            super::OUTCOMES.iter().map(|o| (*o).to_owned()).collect();
        assert_eq!(reported, registered);
    }

    #[test]
    fn a_policy_registers_its_series_at_zero() {
        let recorder = ::metrics_util::debugging::DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        ::metrics::with_local_recorder(&recorder, || {
            super::register_policy("demo::charge", Some("payments"), Some("psp"));
        });
        let series: BTreeSet<String> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, _)| {
                let key = key.key();
                let labels: Vec<String> = key
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                format!("{}{{{}}}", key.name(), labels.join(","))
            })
            .collect();
        assert!(
            series.contains("idemgate_calls_total{operation=demo::charge,outcome=circuit_open}"),
            "{series:#?}"
        );
        assert!(
            series.contains("idemgate_retries_total{operation=demo::charge,reason=throttled}"),
            "{series:#?}"
        );
        assert!(
            series.contains("idemgate_budget_exhausted_total{budget=payments}"),
            "{series:#?}"
        );
        assert!(
            series.contains("idemgate_breaker_state{breaker=psp}"),
            "{series:#?}"
        );
        assert_eq!(
            series.len(),
            super::OUTCOMES.len() + 1 + super::REASONS.len() + 1 + 1 + 3
        );
    }

    #[test]
    fn label_keys_are_the_literals_before_an_arrow() {
        let keys = label_keys(r#", "operation" => operation, "outcome" => "success")"#);
        assert_eq!(
            keys,
            BTreeSet::from(["operation".to_owned(), "outcome".to_owned()])
        );
        assert!(label_keys(r#", "x")"#).is_empty());
    }
}
