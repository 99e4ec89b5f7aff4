//! OAS001 operation-missing-idempotency: a POST or PATCH operation declares no idempotency key or strategy.

use crate::model::openapi::{Reported, StrategyKind};
use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "OAS001",
    name: "operation-missing-idempotency",
    default_severity: Severity::Error,
    summary: "a POST or PATCH operation declares no idempotency key or strategy",
    docs: r#"## Why
Clients, proxies and SDKs retry: after a timeout, a reset connection, a 502 or a 503 they cannot
tell whether the first attempt took effect. A side-effecting operation (POST or PATCH by default;
`side-effect-methods` in the config) that gives callers no way to make a retry safe turns every
retry into a possible duplicate charge, order or email. The contract belongs in the spec, where
SDK generators, gateways and reviewers see it.

An operation declares idempotency with any of:
- an `Idempotency-Key` header parameter (operation or path level, inline or through `$ref`);
- a request-body property `idempotency_key` / `idempotencyKey` / `IdempotencyKey`, or one named
  in `[openapi] key-fields` (top level or through `allOf`);
- `x-idempotency: {strategy: key | natural-key | conditional}` on the operation, its path item,
  or the document root (the default for every operation);
- `x-idempotency: {strategy: none, reason: "…"}` to exempt it on purpose (without a reason,
  IDEM003 fires and the operation is not exempt).

Top-level 3.1 `webhooks` are requests the API sends, not receives, and are not checked. An
operation written as a `$ref` (`post: {$ref: "resources/orders/create.yml"}`) is followed and
reported in the file that holds it, with the `$ref` as a related location.

## Bad
```yaml
paths:
  /v1/charges:
    post:
      operationId: createCharge
      responses:
        "200": {description: the charge}
```

## Good
```yaml
paths:
  /v1/charges:
    post:
      operationId: createCharge
      parameters:
        - in: header
          name: Idempotency-Key
          required: true
          schema: {type: string, maxLength: 255}
      responses:
        "200": {description: the charge}
```
"#,
};

pub struct OperationMissingIdempotency;

impl Rule for OperationMissingIdempotency {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, ctx: &Context, out: &mut Vec<Finding>) {
        let mut reported = Reported::default();
        for op in &model.openapi.operations {
            if op.is_webhook || !ctx.is_side_effecting(&op.method) {
                continue;
            }
            if !op.key_headers.is_empty() || op.body_key.is_some() {
                continue;
            }
            let name = op.display_name();
            let mut finding = match op.strategy.as_ref().map(|s| (&s.kind, s)) {
                Some((kind, _)) if kind.declares_idempotency() => continue,
                Some((StrategyKind::Unknown(v), s)) => Finding::new(
                    &META,
                    op.location.clone(),
                    format!(
                        "{name} declares an unknown idempotency strategy `{v}` (expected key, natural-key, conditional or none)"
                    ),
                )
                .label("unknown strategy")
                .related(s.location.clone(), "declared here"),
                Some((StrategyKind::None, s)) => Finding::new(
                    &META,
                    op.location.clone(),
                    format!("{name} opts out of idempotency (`strategy: none`)"),
                )
                .label("side effect without idempotency")
                .related(s.location.clone(), "`strategy: none` needs a `reason` to exempt"),
                _ => Finding::new(
                    &META,
                    op.location.clone(),
                    format!("{name} declares no idempotency key or strategy"),
                )
                .label("retries of this operation can apply its side effect twice"),
            };
            finding = op.with_references(finding);
            for r in &op.unresolved_refs {
                finding = finding.related(
                    r.clone(),
                    "this `$ref` could not be resolved; it may declare the key",
                );
            }
            reported.push(
                out,
                finding
                    .help(
                        "add an `Idempotency-Key` header parameter, or declare `x-idempotency: {strategy: key | natural-key | conditional}` (or `{strategy: none, reason: \"…\"}`)",
                    )
                    .key(op.key())
                    .pointer(op.pointer()),
            );
        }
    }
}
