//! GATE001 unparsable-file: a file could not be read or parsed, so it was not checked.

use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "GATE001",
    name: "unparsable-file",
    default_severity: Severity::Error,
    summary: "a file could not be read or parsed, so it was not checked",
    docs: r#"## Why
TODO

## Bad
```rust
```

## Good
```rust
```
"#,
};

pub struct UnparsableFile;

impl Rule for UnparsableFile {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _model: &Model, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
