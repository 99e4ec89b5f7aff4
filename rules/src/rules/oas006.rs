//! OAS006 idempotency-key-schema: the idempotency key parameter is not a string with a maxLength.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "OAS006",
    name: "idempotency-key-schema",
    default_severity: Severity::Warning,
    summary: "the idempotency key parameter is not a string with a maxLength",
    docs: r#"## Why
Idempotency keys are stored server-side for the retention window. A key without a length bound
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
        for op in &model.openapi.operations {
            for h in &op.key_headers {
                let s = &h.schema;
                let problem = if s.types.is_empty() {
                    "declares no type".to_string()
                } else if !s.is_string() {
                    format!("is typed `{}`, not `string`", s.types.join(", "))
                } else if s.max_length.is_none() {
                    "has no `maxLength`".to_string()
                } else {
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
                out.push(
                    f.help("declare the key as `{type: string, maxLength: 255}`")
                        .key(h.definition.clone().unwrap_or_else(|| op.key())),
                );
            }
        }
    }
}
