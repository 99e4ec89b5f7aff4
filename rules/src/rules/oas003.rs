//! OAS003 idempotency-conflict-responses: an operation takes an idempotency key but documents neither 409 nor 422.

use crate::model::openapi::Reported;
use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "OAS003",
    name: "idempotency-conflict-responses",
    default_severity: Severity::Warning,
    summary: "an operation takes an idempotency key but documents neither 409 nor 422",
    docs: r#"## Why
An idempotency key has two failure answers a client must handle differently: `409 Conflict`
while a request with the same key is still in flight (retry later), and `422 Unprocessable
Content` when the key is reused with a different payload (a client bug: never retry). An
operation that accepts a key (a key header of any spelling, a body key property, or
`x-idempotency: {strategy: key}`) but documents neither leaves SDK authors guessing, and
generated clients treat both as generic errors. Document at least one of them, ideally both. A
`4XX` or `default` response counts when its description or problem type says it covers them
(names 409 or 422, a conflict, a request in flight or a reused key).

## Bad
```yaml
post:
  parameters:
    - {in: header, name: Idempotency-Key, schema: {type: string, maxLength: 255}}
  responses:
    "201": {description: created}
```

## Good
```yaml
post:
  parameters:
    - {in: header, name: Idempotency-Key, schema: {type: string, maxLength: 255}}
  responses:
    "201": {description: created}
    "409": {description: a request with this key is still being processed}
    "422": {description: this key was used with a different payload}
```
"#,
};

pub struct IdempotencyConflictResponses;

impl Rule for IdempotencyConflictResponses {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        let mut reported = Reported::default();
        for op in &model.openapi.operations {
            if op.is_webhook || !op.takes_key() || op.documents_conflicts() {
                continue;
            }
            let location = op
                .responses_location
                .clone()
                .unwrap_or_else(|| op.location.clone());
            let mut f = Finding::new(
                &META,
                location,
                format!(
                    "{} takes an idempotency key but documents neither 409 (key in flight) nor 422 (key reused with another payload)",
                    op.display_name()
                ),
            )
            .label("no 409 or 422 response");
            if op.responses_location.is_some() {
                f = f.related(op.location.clone(), "the operation");
            }
            let f = op.with_references(f);
            reported.push(
                out,
                f.help("document `409` for a request whose key is still in flight and `422` for a key reused with a different payload")
                    .key(op.key())
                    .pointer(op.pointer()),
            );
        }
    }
}
