//! OAS005 idempotency-retention-undeclared: idempotency keys are accepted but no retention window is declared.

use crate::model::openapi::Reported;
use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "OAS005",
    name: "idempotency-retention-undeclared",
    default_severity: Severity::Warning,
    summary: "idempotency keys are accepted but no retention window is declared",
    docs: r#"## Why
An idempotency key protects a retry only while the server still remembers it. A client that
retries after the window (an offline mobile app, a queue replayed the next day) executes the side
effect again. How long keys are kept is part of the contract: declare it with
`x-idempotency.retention` at the document root (the default) or on the operation, as `24h`,
`15m`, `7d` or an ISO 8601 duration (`P1D`). A value that is not a duration is reported too.

## Bad
```yaml
openapi: 3.1.0
paths:
  /orders:
    post:
      parameters:
        - {in: header, name: Idempotency-Key, schema: {type: string, maxLength: 255}}
```

## Good
```yaml
openapi: 3.1.0
x-idempotency:
  retention: 24h
paths:
  /orders:
    post:
      parameters:
        - {in: header, name: Idempotency-Key, schema: {type: string, maxLength: 255}}
```
"#,
};

pub struct IdempotencyRetentionUndeclared;

impl Rule for IdempotencyRetentionUndeclared {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        let mut reported = Reported::default();
        for op in &model.openapi.operations {
            if op.is_webhook || !op.takes_key() {
                continue;
            }
            let f = match op.retention() {
                Some(r) if r.seconds.is_some() => continue,
                Some(r) => Finding::new(
                    &META,
                    r.location.clone(),
                    format!(
                        "retention `{}` of {} is not a duration",
                        r.text,
                        op.display_name()
                    ),
                )
                .label("not a duration")
                .related(op.location.clone(), "the operation")
                .help("write the window as `24h`, `15m`, `7d`, or ISO 8601 `P1D`"),
                None => Finding::new(
                    &META,
                    op.location.clone(),
                    format!(
                        "{} accepts idempotency keys but declares no retention window",
                        op.display_name()
                    ),
                )
                .label("how long are keys remembered?")
                .help("declare `x-idempotency: {retention: 24h}` at the document root or on the operation"),
            };
            let f = op.with_references(f);
            reported.push(out, f.key(op.key()).pointer(op.pointer()));
        }
    }
}
