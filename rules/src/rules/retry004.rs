//! RETRY004 ad-hoc-retry-library: a retry crate is used directly instead of the shared runtime.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "RETRY004",
    name: "ad-hoc-retry-library",
    default_severity: Severity::Error,
    summary: "a retry crate is used directly instead of the shared runtime",
    docs: r#"## Why
`backoff`, `backon`, `tokio-retry`, `again`, `retry`, `reqwest-retry` and tower's retry layer
are good libraries, but each use is a private retry policy: its own attempts and delays, no
shared retry budget, no circuit breaker, no fleet-wide metrics, and no guarantee that the
retried operation is idempotent. The fleet's retries go through one runtime so they can be
governed (RETRY005–RETRY007) and observed.

## Bad
```rust
use backoff::{future::retry, ExponentialBackoff};

let body = retry(ExponentialBackoff::default(), || async { Ok(fetch(&url).await?) }).await?;
```

## Good
```rust
#[retry_policy(max_attempts = 4, base = "200ms", cap = "5s", budget = "catalog")]
async fn fetch_catalog(url: &str) -> Result<Bytes, FetchError> {
    fetch(url).await
}
```
"#,
};

pub struct AdHocRetryLibrary;

impl Rule for AdHocRetryLibrary {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        use crate::model::rust::{LibraryUseKind, RetryLibraryUse};
        use std::collections::BTreeMap;
        // The unit is the retry invocation: one finding per call that runs a retry, with the
        // crate's builders, policies and error wrappers in the same function as related
        // locations. A file that only configures the crate gets one finding; a bare import
        // is one only when nothing else in the file uses the crate.
        let mut groups: BTreeMap<(&str, &str), Vec<&RetryLibraryUse>> = BTreeMap::new();
        for u in &model.rust.retry_library_uses {
            groups
                .entry((&u.location.file, &u.library))
                .or_default()
                .push(u);
        }
        for ((_, library), mut uses) in groups {
            uses.sort_by_key(|u| (u.location.line, u.location.column));
            uses.dedup_by(|a, b| a.location == b.location);
            let of = |k: LibraryUseKind| uses.iter().copied().filter(move |u| u.kind == k);
            let invocations: Vec<_> = of(LibraryUseKind::Invocation).collect();
            let support: Vec<_> = of(LibraryUseKind::Support).collect();
            let imports: Vec<_> = of(LibraryUseKind::Import).collect();
            let finding = |at: &RetryLibraryUse,
                           message: String,
                           related: Vec<&RetryLibraryUse>| {
                let mut f = Finding::new(&META, at.location.clone(), message)
                    .label("ad-hoc retry library")
                    .help("retry through `#[retry_policy(…)]` so budgets, breakers and metrics are shared")
                    .key(format!(
                        "{}:{library}:{}",
                        at.function.as_deref().unwrap_or(&at.module),
                        at.location.line
                    ));
                for r in related.into_iter().take(8) {
                    f = f.related(r.location.clone(), format!("`{library}` configured here"));
                }
                f
            };
            if !invocations.is_empty() {
                let mut seen_lines = std::collections::HashSet::new();
                for inv in &invocations {
                    // `retry(backoff::ExponentialBackoff::default(), op)` on one line is one use
                    if !seen_lines.insert(inv.location.line) {
                        continue;
                    }
                    let related: Vec<_> = support
                        .iter()
                        .copied()
                        .filter(|s| {
                            s.function == inv.function && s.location.line != inv.location.line
                        })
                        .collect();
                    out.push(finding(
                        inv,
                        format!("retries through the retry crate `{library}`"),
                        related,
                    ));
                }
            } else if let Some((first, rest)) = support.split_first() {
                out.push(finding(
                    first,
                    format!("builds retries with the retry crate `{library}`"),
                    rest.to_vec(),
                ));
            } else if let Some((first, rest)) = imports.split_first() {
                out.push(finding(
                    first,
                    format!("imports the retry crate `{library}`"),
                    rest.to_vec(),
                ));
            }
        }
    }
}
