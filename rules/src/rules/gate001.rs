//! GATE001 unparsable-file: a file could not be read or parsed, so it was not checked.

use crate::model::FileError;
use crate::{Context, Finding, Location, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "GATE001",
    name: "unparsable-file",
    default_severity: Severity::Error,
    summary: "a file could not be read or parsed, so it was not checked",
    docs: r#"## Why
A file the gate cannot parse is a file it cannot vouch for: a side-effecting route or a retry
loop in it would pass unseen. The run goes on with the other files, and this finding says which
file was skipped and where the problem is (a syntax error, invalid UTF-8, nesting too deep for a
parser, a file over the size limit). Exclude generated or intentionally broken files with
`exclude = ["…"]` in `idemgate.toml`.

## Bad
```rust
fn broken( {
```

## Good
```rust
fn fixed() {}
```
"#,
};

pub struct UnparsableFile;

impl Rule for UnparsableFile {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        for e in &model.file_errors {
            out.push(
                Finding::new(
                    &META,
                    location_of(e),
                    format!("{} was not checked: {}", e.file, e.message),
                )
                .label("cannot parse")
                .help("fix the file, or exclude it with `exclude = [\"…\"]` in idemgate.toml")
                .key(e.file.to_string()),
            );
        }
        for e in &model.reference_errors {
            out.push(
                Finding::new(&META, location_of(e), e.message.clone())
                    .label("not followed")
                    .help("the rest of the document was checked; what this reference points to was not")
                    .key(format!("{}:{}", e.file, e.message)),
            );
        }
    }
}

fn location_of(e: &FileError) -> Location {
    e.location
        .clone()
        .unwrap_or_else(|| Location::file_start(e.file.clone()))
}
