//! `cargo xtask bench` and `cargo xtask attack` hand over to the `loadtest` crate after their
//! own build steps, so xtask stays small: the load generator, the HTTP client and the
//! percentile maths build only when someone measures.

use std::path::PathBuf;
use std::process::Command;

use crate::ctx::{self, Ctx};

/// Splits `--no-build` (xtask's to act on) from the options `loadtest` takes.
pub fn split_no_build(rest: &[String]) -> (bool, Vec<String>) {
    let no_build = rest.iter().any(|a| a == "--no-build");
    let passed = rest
        .iter()
        .filter(|a| *a != "--no-build")
        .cloned()
        .collect();
    (no_build, passed)
}

/// The release server the tools measure: `KMC_SERVER_BIN`, else the one `cargo build
/// --release` writes.
pub fn server_bin(ctx: &Ctx) -> PathBuf {
    std::env::var_os("KMC_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| ctx.target_dir().join("release/kmc-server"))
}

/// `cargo xtask attack`: the release server, then `loadtest attack`.
pub fn attack(ctx: &Ctx, rest: &[String]) -> Result<(), String> {
    let (no_build, passed) = split_no_build(rest);
    if !no_build {
        ctx::run_status(ctx.cargo().args(["build", "--release", "-p", "kmc-server"]))?;
    }
    run(ctx, "attack", &passed)
}

/// Runs `loadtest TOOL` (see [`command`]).
pub fn run(ctx: &Ctx, tool: &str, options: &[String]) -> Result<(), String> {
    ctx::run_status(&mut command(ctx, tool, options))
}

/// `loadtest TOOL` in release (the load generators must be optimised to push the server) with
/// the server binary and the report folder, then `options`.
pub fn command(ctx: &Ctx, tool: &str, options: &[String]) -> Command {
    let mut cmd = ctx.cargo();
    cmd.args(["run", "--quiet", "--release", "-p", "loadtest", "--", tool])
        .arg("--server-bin")
        .arg(server_bin(ctx))
        .arg("--report-dir")
        .arg(ctx.target_dir())
        .args(options);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_build_is_taken_out_and_every_other_option_passes_in_order() {
        let args: Vec<String> = ["--only", "spray", "--no-build", "--logins", "5"]
            .map(String::from)
            .into();
        let (no_build, passed) = split_no_build(&args);
        assert!(no_build);
        assert_eq!(passed, ["--only", "spray", "--logins", "5"]);
        assert!(!split_no_build(&[]).0);
    }
}
