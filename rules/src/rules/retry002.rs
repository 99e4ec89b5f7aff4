//! RETRY002 retry-without-jitter: a retry waits a constant or deterministic delay.

use crate::model::rust::Delay;
use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "RETRY002",
    name: "retry-without-jitter",
    default_severity: Severity::Warning,
    summary: "a retry waits a constant or deterministic delay",
    docs: r#"## Why
Clients that failed together retry together. With a fixed sleep, or a deterministic exponential
one (`delay *= 2`, `base * 2^n`), every client that saw the same blip comes back in the same
instant, again and again: synchronised waves that keep the dependency down. Full jitter,
`sleep = random(0, min(cap, base · 2^n))`, spreads the retries out. This rule reports
hand-rolled retries whose sleep has no random component and `#[retry_policy(jitter = "none")]`.

## Bad
```rust
for attempt in 0..5 {
    match send(&msg).await {
        Ok(()) => return Ok(()),
        Err(_) => tokio::time::sleep(Duration::from_millis(100 * 2u64.pow(attempt))).await,
    }
}

#[retry_policy(max_attempts = 3, jitter = "none", budget = "mail")]
async fn notify(user: &User) -> Result<(), MailError> { /* … */ }
```

## Good
```rust
#[retry_policy(max_attempts = 3, base = "100ms", cap = "2s", budget = "mail")] // full jitter
async fn notify(user: &User) -> Result<(), MailError> { /* … */ }
```
"#,
};

pub struct RetryWithoutJitter;

impl Rule for RetryWithoutJitter {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        for s in &model.rust.retry_sites {
            let kind = match s.delay {
                Delay::Constant => "a constant",
                Delay::Deterministic => "a deterministic",
                Delay::None | Delay::Jittered | Delay::Unknown => continue,
            };
            let at = s
                .delay_location
                .clone()
                .unwrap_or_else(|| s.location.clone());
            out.push(
                Finding::new(
                    &META,
                    at,
                    format!("the retry of `{}` waits {kind} delay with no jitter", s.call),
                )
                .label("no random component in this delay")
                .related(s.location.clone(), "retry here")
                .help("use `#[retry_policy]` (full jitter by default), or add a random component: random(0, min(cap, base * 2^n))")
                .key(format!("{}:{}", s.function, s.call)),
            );
        }
        for p in &model.rust.policies {
            if let Some(j) = &p.args.jitter {
                if j.value.eq_ignore_ascii_case("none") {
                    out.push(
                        Finding::new(
                            &META,
                            j.location.clone(),
                            format!("retry policy `{}` disables jitter", p.path),
                        )
                        .label("jitter = \"none\"")
                        .related(p.location.clone(), "policy function")
                        .help("remove `jitter = \"none\"` (the default is full jitter)")
                        .key(format!("{}:jitter", p.path)),
                    );
                }
            }
        }
    }
}
