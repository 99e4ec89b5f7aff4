//! IDEM003 exemption-without-reason: an exemption gives no reason, so it does not exempt.

use crate::model::ExemptionOrigin;
use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "IDEM003",
    name: "exemption-without-reason",
    default_severity: Severity::Error,
    summary: "an exemption gives no reason, so it does not exempt",
    docs: r#"## Why
An exemption is a decision that a rule does not apply here. Without a reason, the next reader
cannot tell a considered decision from a silenced alarm, and nobody can re-check it when the
code changes. idemgate therefore ignores an exemption that gives no reason: the finding it was
meant to hide is still reported.

This applies to `#[exempt(…)]`, `// idemgate: allow(…)` comments, `[[exemptions]]` in the
config, and OpenAPI `x-idempotency: {strategy: none}` / `x-idemgate-ignore` entries.

## Bad
```rust
#[exempt(IDEM001)]
async fn rebook(Json(req): Json<Rebook>) -> StatusCode { /* … */ }
```

## Good
```rust
#[exempt(IDEM001, reason = "compare-and-set on booking.version; see ADR-12")]
async fn rebook(Json(req): Json<Rebook>) -> StatusCode { /* … */ }
```
"#,
};

pub struct ExemptionWithoutReason;

impl Rule for ExemptionWithoutReason {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        for e in model.exemptions.iter().filter(|e| !e.has_reason()) {
            let what = match e.origin {
                ExemptionOrigin::Attribute => "`#[exempt]`",
                ExemptionOrigin::Comment => "`idemgate: allow` comment",
                ExemptionOrigin::OpenApi => "OpenAPI exemption",
                ExemptionOrigin::Config => "config exemption",
            };
            out.push(
                Finding::new(
                    &META,
                    e.location.clone(),
                    format!(
                        "{what} of {} gives no reason, so it does not exempt",
                        e.rule
                    ),
                )
                .label("no reason given")
                .help(match e.origin {
                    ExemptionOrigin::Attribute => {
                        "add `reason = \"…\"` saying why the rule does not apply here"
                    }
                    ExemptionOrigin::Comment => "write `// idemgate: allow(ID) reason: …`",
                    ExemptionOrigin::OpenApi => {
                        "add `reason: …` saying why the rule does not apply here"
                    }
                    ExemptionOrigin::Config => "add `reason = \"…\"` to the `[[exemptions]]` entry",
                })
                // line-independent: two such exemptions of one rule in a file are counted, not told apart
                .key(format!("{}:{:?}", e.rule, e.origin)),
            );
        }
    }
}
