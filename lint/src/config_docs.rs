//! `idemgate explain config`: where configuration is read from and every key with its meaning
//! and default — what a config error points to.

/// The text `idemgate explain config` prints.
pub fn explain() -> String {
    format!(
        r#"# idemgate configuration

Where it is read from: `idemgate.toml`, else `.idemgate.toml`, else `[workspace.metadata.idemgate]`
or `[package.metadata.idemgate]` in a `Cargo.toml` (same keys).

Closest config wins: each file is checked under the config nearest above it. That config's
`[rules]`, `[[exemptions]]` and `exclude` apply to the files below it, with globs relative to its
own folder; it does not inherit from configs further up. The keys that concern the whole run
(`fail-level`, `threads`, `[limits]`, `side-effect-methods`, `[openapi]`, `baseline`,
`[[contracts]]`, …) come from the config nearest to the first path checked. `--config FILE`
uses one file for everything, `--isolated` none. Reported paths are relative to the repository
(the git top level), or to `--root`.

Unknown keys and bad values are errors that point at their place in the file (exit 2).
`idemgate init` writes the file below into a folder.

Every key, at its default:

```toml
{}```
"#,
        crate::init::template(None)
    )
}
