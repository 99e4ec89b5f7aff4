//! `cargo idemgate …`: the gate as a cargo subcommand. `cargo install idemgate-lint` installs
//! it beside `idemgate`; `cargo idemgate check` then checks the whole workspace (its root from
//! `cargo metadata`) from any folder inside it. Every argument is the `idemgate` binary's;
//! `--manifest-path PATH` picks the workspace as cargo commands do.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    // cargo runs `cargo-idemgate idemgate <args>`
    if args.first().is_some_and(|a| a == "idemgate") {
        args.remove(0);
    }
    let manifest = take_manifest_path(&mut args);
    let mut gate = Command::new(gate_binary());
    gate.args(&args);
    let scans = args.first().is_some_and(|a| a == "check" || a == "routes");
    if scans {
        match workspace_root(manifest.as_ref()) {
            Ok(root) => {
                gate.env("IDEMGATE_DEFAULT_PATH", root);
            }
            Err(e) if manifest.is_some() => {
                eprintln!("cargo-idemgate: {e}");
                return ExitCode::from(2);
            }
            // not in a Cargo workspace: the gate's own default (the current folder)
            Err(_) => {}
        }
    }
    match gate.status() {
        Ok(s) => ExitCode::from(s.code().map_or(2, |c| u8::try_from(c).unwrap_or(2))),
        Err(e) => {
            eprintln!(
                "cargo-idemgate: cannot run {}: {e} (install it with `cargo install idemgate-lint`)",
                gate_binary().display()
            );
            ExitCode::from(2)
        }
    }
}

/// Removes `--manifest-path PATH` / `--manifest-path=PATH` from the arguments.
fn take_manifest_path(args: &mut Vec<OsString>) -> Option<PathBuf> {
    let i = args.iter().position(|a| {
        a == "--manifest-path" || a.to_string_lossy().starts_with("--manifest-path=")
    })?;
    let flag = args.remove(i);
    let text = flag.to_string_lossy();
    match text.strip_prefix("--manifest-path=") {
        Some(p) => Some(PathBuf::from(p)),
        None if i < args.len() => Some(PathBuf::from(args.remove(i))),
        None => None,
    }
}

/// The `idemgate` installed beside this binary, else the one on the PATH.
fn gate_binary() -> PathBuf {
    let name = format!("idemgate{}", std::env::consts::EXE_SUFFIX);
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(&name)))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// The workspace root `cargo metadata` reports.
fn workspace_root(manifest: Option<&PathBuf>) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "metadata",
        "--no-deps",
        "--format-version",
        "1",
        "--offline",
    ]);
    if let Some(m) = manifest {
        cmd.arg("--manifest-path").arg(m);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    meta["workspace_root"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata names no workspace_root".to_string())
}
