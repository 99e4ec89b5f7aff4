//! RETRY003 unbounded-retry: a hand-rolled retry has no attempt cap and no total-time cap.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "RETRY003",
    name: "unbounded-retry",
    default_severity: Severity::Error,
    summary: "a hand-rolled retry has no attempt cap and no total-time cap",
    docs: r#"## Why
A retry with neither an attempt cap nor a deadline never gives up: when the dependency is down
for good, the caller hangs, holds its resources and keeps hammering the dependency, and the
request that started it has long been abandoned by its own client. Every retry needs a bound on
attempts or on total time (better: both, as `#[retry_policy]` has by default).

## Bad
```rust
loop {
    if let Ok(conn) = Db::connect(&url).await {
        return conn;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
}
```

## Good
```rust
#[retry_policy(max_attempts = 5, base = "200ms", cap = "5s", max_elapsed = "30s", budget = "db")]
async fn connect(url: &str) -> Result<Db, DbError> {
    Db::connect(url).await
}
```
"#,
};

pub struct UnboundedRetry;

impl Rule for UnboundedRetry {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        for s in &model.rust.retry_sites {
            if s.attempt_cap || s.time_cap {
                continue;
            }
            out.push(
                Finding::new(
                    &META,
                    s.location.clone(),
                    format!(
                        "the retry of `{}` has no attempt cap and no deadline",
                        s.call
                    ),
                )
                .label("retries forever")
                .related(s.call_location.clone(), "the retried call")
                .help("bound it: `#[retry_policy(max_attempts = …, max_elapsed = …)]`")
                .key(format!("{}:{}", s.function, s.call)),
            );
        }
    }
}
