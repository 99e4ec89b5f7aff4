//! IDEM002 unstable-idempotency-key: an idempotency key is built from a value that is fresh on
//! every attempt.

use crate::model::rust::KeySink;
use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "IDEM002",
    name: "unstable-idempotency-key",
    default_severity: Severity::Error,
    summary: "an idempotency key is built from a value that is fresh on every attempt",
    docs: r#"## Why
An idempotency key exists so that a retry of the same logical operation is recognised as a
duplicate. A key made from `Uuid::new_v4()`, `rand`, `Utc::now()`, `SystemTime::now()` or a
counter is different on every attempt, so every retry looks new and the side effect runs again:
the key protects nothing. Keys must come from the business identity of the operation (order id,
event id, tenant + workflow step).

## Bad
```rust
#[idempotent(key = format!("charge:{}", Uuid::new_v4()))]
async fn charge(order: &Order) -> Result<Receipt, PayError> { /* … */ }

client.post(url).header("Idempotency-Key", Utc::now().to_rfc3339()).send().await?;
```

## Good
```rust
#[idempotent(key = parts("charge", order.tenant, order.id))]
async fn charge(order: &Order) -> Result<Receipt, PayError> { /* … */ }

client.post(url).header("Idempotency-Key", format!("refund:{}", refund.id)).send().await?;
```
"#,
};

pub struct UnstableIdempotencyKey;

impl Rule for UnstableIdempotencyKey {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        for k in &model.rust.key_sources {
            let (what, sink) = match k.sink {
                KeySink::Attribute => ("the `#[idempotent]` key", "key declared here"),
                KeySink::Header => ("the `Idempotency-Key` header", "header set here"),
            };
            out.push(
                Finding::new(
                    &META,
                    k.location.clone(),
                    format!(
                        "{what} in `{}` is built from `{}`, which is fresh on every attempt",
                        k.function, k.source
                    ),
                )
                .label("fresh on every attempt")
                .related(k.sink_location.clone(), sink)
                .help("derive the key from business fields that identify the operation (order id, event id, tenant)")
                .key(format!("{}:{}", k.function, k.source)),
            );
        }
    }
}
