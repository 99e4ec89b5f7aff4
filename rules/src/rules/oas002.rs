//! OAS002 nonstandard-idempotency-header: an idempotency header is not spelled Idempotency-Key.

use crate::model::openapi::{is_standard_key_header, Reported};
use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "OAS002",
    name: "nonstandard-idempotency-header",
    default_severity: Severity::Warning,
    summary: "an idempotency header is not spelled Idempotency-Key",
    docs: r#"## Why
The IETF draft (`draft-ietf-httpapi-idempotency-key-header`) and the major payment APIs name the
header `Idempotency-Key`. Every other spelling (`X-Idempotency-Key`, `Idempotency-Token`,
`PayPal-Request-Id`, `Repeatability-Request-ID`, …) needs custom code in each SDK, gateway,
retry library and idempotency middleware that wants to honour it, and in practice some of them
silently drop it. The operation counts as declared (OAS001 does not fire), but the spelling is
reported. Names your platform has standardised on can be accepted with
`[openapi] accepted-key-headers = ["…"]` in the config. The header named by
`x-idempotency.header` is checked too.

## Bad
```yaml
parameters:
  - in: header
    name: X-Idempotency-Key
    schema: {type: string, maxLength: 255}
```

## Good
```yaml
parameters:
  - in: header
    name: Idempotency-Key
    schema: {type: string, maxLength: 255}
```
"#,
};

pub struct NonstandardIdempotencyHeader;

impl Rule for NonstandardIdempotencyHeader {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, ctx: &Context, out: &mut Vec<Finding>) {
        let accepted = |name: &str| {
            is_standard_key_header(name)
                || ctx
                    .accepted_key_headers
                    .iter()
                    .any(|a| a.trim().eq_ignore_ascii_case(name.trim()))
        };
        let mut reported = Reported::default();
        for op in &model.openapi.operations {
            for h in op.key_headers.iter().filter(|h| !h.standard) {
                // Reported where the header is defined: a shared component is one finding.
                let mut f = Finding::new(
                    &META,
                    h.location.clone(),
                    format!("idempotency header `{}` is not spelled `Idempotency-Key`", h.name),
                )
                .label("nonstandard idempotency header")
                .help("rename it to `Idempotency-Key`, or accept the name with `[openapi] accepted-key-headers` in the config");
                if let Some(at) = &h.referenced_at {
                    f = f.related(at.clone(), format!("used by {}", op.display_name()));
                } else {
                    f = f.related(op.location.clone(), format!("in {}", op.display_name()));
                }
                let f = match &h.definition {
                    Some(def) => f.key(def.clone()),
                    None => f.key(op.key()).pointer(op.pointer()),
                };
                reported.push(out, f);
            }
            if let Some(s) = &op.strategy {
                if let Some((name, loc)) = &s.header {
                    if !accepted(name) {
                        reported.push(
                            out,
                            Finding::new(
                                &META,
                                loc.clone(),
                                format!(
                                    "idempotency header `{name}` is not spelled `Idempotency-Key`"
                                ),
                            )
                            .label("nonstandard idempotency header")
                            .related(op.location.clone(), format!("applies to {}", op.display_name()))
                            .help("rename it to `Idempotency-Key`, or accept the name with `[openapi] accepted-key-headers` in the config")
                            .key(format!("x-idempotency.header:{name}")),
                        );
                    }
                }
            }
        }
    }
}
