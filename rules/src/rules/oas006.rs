//! OAS006 idempotency-key-schema: the idempotency key is not a string with a maxLength.

use crate::model::openapi::{KeySchema, Reported};
use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

/// What is wrong with a key's schema, if anything.
fn problem(s: &KeySchema) -> Option<String> {
    if s.types.is_empty() {
        Some("declares no type".to_string())
    } else if !s.is_string() {
        Some(format!("is typed `{}`, not `string`", s.types.join(", ")))
    } else if s.max_length.is_none() {
        Some("has no `maxLength`".to_string())
    } else {
        None
    }
}

pub static META: RuleMeta = RuleMeta {
    id: "OAS006",
    name: "idempotency-key-schema",
    default_severity: Severity::Warning,
    summary: "the idempotency key is not a string with a maxLength",
    docs: r#"## Why
The key is the header parameter, or the request-body property (`idempotency_key`,
`idempotencyKey`) when the API takes it in the body. Idempotency keys are stored server-side for the retention window. A key without a length bound
lets a client make the store hold arbitrarily large keys (and breaks stores with key-size limits,
such as Redis cluster setups behind a proxy); a key typed as a number or left untyped invites
clients to send counters or timestamps, which are not unique per logical request. Declare the
key as `type: string` with a `maxLength` (255 is the common bound; idemgate's runtime rejects
longer keys with 400).

## Bad
```yaml
- in: header
  name: Idempotency-Key
  schema: {type: string}
```

## Good
```yaml
- in: header
  name: Idempotency-Key
  schema: {type: string, maxLength: 255}
```
"#,
};

pub struct IdempotencyKeySchema;

impl Rule for IdempotencyKeySchema {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        let mut reported = Reported::default();
        for op in &model.openapi.operations {
            if let Some(b) = &op.body_key {
                if let Some(problem) = problem(&b.schema) {
                    let f = Finding::new(
                        &META,
                        b.schema.location.clone(),
                        format!("idempotency key property `{}` {problem}", b.name),
                    )
                    .label("declare `type: string` with a `maxLength`")
                    .related(op.location.clone(), format!("in {}", op.display_name()))
                    .help("declare the key as `{type: string, maxLength: 255}`")
                    .key(op.key())
                    .pointer(op.pointer());
                    reported.push(out, f);
                }
            }
            for h in &op.key_headers {
                let s = &h.schema;
                let Some(problem) = problem(s) else {
                    continue;
                };
                // Reported at the definition: a shared component is one finding.
                let mut f = Finding::new(
                    &META,
                    s.location.clone(),
                    format!("idempotency key `{}` {problem}", h.name),
                )
                .label("declare `type: string` with a `maxLength`");
                if let Some(at) = &h.referenced_at {
                    f = f.related(at.clone(), format!("used by {}", op.display_name()));
                } else {
                    f = f.related(op.location.clone(), format!("in {}", op.display_name()));
                }
                let f = f.help("declare the key as `{type: string, maxLength: 255}`");
                let f = match &h.definition {
                    Some(def) => f.key(def.clone()),
                    None => f.key(op.key()).pointer(op.pointer()),
                };
                reported.push(out, f);
            }
        }
    }
}
