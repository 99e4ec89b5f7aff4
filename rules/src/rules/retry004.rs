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
        // One finding per crate per line: `backoff::future::retry(backoff::ExponentialBackoff…)`
        // is one use of the crate, not two.
        let mut seen = std::collections::HashSet::new();
        for u in &model.rust.retry_library_uses {
            if !seen.insert((&u.location.file, u.location.line, &u.library)) {
                continue;
            }
            out.push(
                Finding::new(
                    &META,
                    u.location.clone(),
                    format!("direct use of the retry crate `{}`", u.library),
                )
                .label("ad-hoc retry library")
                .help("retry through `#[retry_policy(…)]` so budgets, breakers and metrics are shared")
                .key(format!("{}:{}", u.module, u.library)),
            );
        }
    }
}
