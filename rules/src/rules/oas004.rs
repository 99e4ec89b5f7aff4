//! OAS004 retry-after-missing: a 429 or 503 response has no Retry-After header.

use crate::model::openapi::Reported;
use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "OAS004",
    name: "retry-after-missing",
    default_severity: Severity::Warning,
    summary: "a 429 or 503 response has no Retry-After header",
    docs: r#"## Why
`429 Too Many Requests` and `503 Service Unavailable` are the two answers where the server knows
best when to come back. Without a documented `Retry-After` header, clients fall back to their own
guess, and thousands of clients guessing the same short delay is how a brief overload becomes a
retry storm. Document `Retry-After` on these responses (and send it), so generated clients and
retry libraries can honour it. A response defined once in `components` is reported once, at its
definition.

## Bad
```yaml
responses:
  "429":
    description: too many requests
```

## Good
```yaml
responses:
  "429":
    description: too many requests
    headers:
      Retry-After:
        description: seconds to wait before retrying
        schema: {type: integer, minimum: 0}
```
"#,
};

pub struct RetryAfterMissing;

impl Rule for RetryAfterMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        let mut reported = Reported::default();
        for op in &model.openapi.operations {
            for r in &op.responses {
                if r.has_retry_after || !(r.code == "429" || r.code == "503") {
                    continue;
                }
                let what = if r.code == "429" {
                    "429 Too Many Requests"
                } else {
                    "503 Service Unavailable"
                };
                let (location, key, pointer) = match (&r.definition, &r.definition_pointer) {
                    (Some(def), Some(ptr)) => (def.clone(), ptr.clone(), None),
                    _ => (
                        r.location.clone(),
                        format!("{} {}", op.key(), r.code),
                        Some(format!("{}/responses/{}", op.pointer(), r.code)),
                    ),
                };
                let mut f = Finding::new(
                    &META,
                    location,
                    format!("{what} response documents no `Retry-After` header"),
                )
                .label("no Retry-After");
                if r.definition.is_some() {
                    f = f.related(r.location.clone(), format!("used by {}", op.display_name()));
                } else {
                    f = f.related(op.location.clone(), format!("in {}", op.display_name()));
                }
                f = f
                    .help("add `headers: {Retry-After: …}` to the response so clients know when to retry")
                    .key(key);
                if let Some(p) = pointer {
                    f = f.pointer(p);
                }
                reported.push(out, f);
            }
        }
    }
}
