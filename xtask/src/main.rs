//! `cargo xtask`: the project's one entry point for setting up a machine, building, serving,
//! testing and measuring KMC Login.
//!
//! - `setup` installs the tools the build needs (wasm target, trunk, wasm-bindgen-cli, wasm-opt),
//!   each only when it is missing or at the wrong version, outside the repository.
//! - `build` = setup + the release `dist/` (trunk) + the release `kmc-server`.
//! - `serve` = build + `kmc-server serve --demo` on 127.0.0.1:8080.
//! - `test` = setup (with Chromium) + fmt, clippy, native tests, the first-load size budget
//!   ([`size_budget`]), browser tests, end-to-end tests.
//! - `size` = the first load of `/login` against its budget ([`size_budget`]).
//! - `precompress` = `.br` / `.gz` beside the hashed files of `dist/` (trunk's post-build hook).
//! - `bench` = the figures for the notes: bundle sizes, time to a usable login form, login throughput.
//! - `attack` = the server's security promises measured under attack: hostile input, parallel
//!   guessing, spraying, slow clients, a flood, and `kill -9` during writes.
//!
//! The default build uses only std, the two compressors and a JSON reader (for `precompress`)
//! so that CI, which compiles xtask first, starts at once; the bench's hashing crate sits behind
//! the `bench` feature, which
//! `cargo xtask bench` turns on by re-running itself (see [`bench_entry`]); the attacker's async
//! runtime and generators sit behind the `attack` feature the same way (see [`attack_entry`]).

mod ctx;
mod late_preloads;
mod pg;
mod precompress;
mod setup;
mod size_budget;
mod static_card;
mod steps;

#[cfg(any(feature = "bench", feature = "attack"))]
mod scratch;

#[cfg(feature = "bench")]
mod bench;

#[cfg(feature = "attack")]
mod attack;

use std::process::ExitCode;

use ctx::Ctx;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup   install missing tools (wasm target, trunk, wasm-bindgen-cli, wasm-opt)
  build   setup, then the release dist/ (trunk) and the release kmc-server
  serve   build, then run the demo server on http://127.0.0.1:8080
  test    setup (with Chromium), then fmt, clippy, native, browser and end-to-end tests
  precompress [DIR]
          write .br/.gz beside the hashed files of DIR (default: trunk's staging dir, or dist/)
  size [DIR]
          the first load of /login file by file and against its brotli budget (DIR: dist/);
          fails when over budget
  bench   bundle sizes, time to a usable login form, server login throughput
          (writes target/bench-report.md)
  attack  attack a release kmc-server: hostile input, parallel guessing, spraying, slow
          clients, flood, kill -9 during writes (writes target/attack-report.md)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        eprint!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let ctx = match Ctx::new() {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("xtask: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match command.as_str() {
        "setup" => setup::setup(&ctx, setup::Browser::NotNeeded).map(|_| ()),
        "build" => steps::build(&ctx),
        "serve" => steps::serve(&ctx),
        "test" => steps::test(&ctx),
        "precompress" => precompress::run(&ctx.root, &args[1..]),
        "size" => size_budget::report(args.get(1).map_or_else(|| ctx.dist(), Into::into)),
        "bench" => bench_entry(&ctx, &args[1..]),
        "attack" => attack_entry(&ctx, &args[1..]),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {command}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the bench. Without the `bench` feature this binary re-runs itself through cargo with
/// the feature on and in release mode (the load generator and the hash-rate ceiling must be
/// optimised), so the everyday build stays std-only.
#[cfg(not(feature = "bench"))]
fn bench_entry(ctx: &Ctx, rest: &[String]) -> Result<(), String> {
    rerun_with_feature(ctx, "bench", rest)
}

/// Runs the bench in this (feature-enabled) binary.
#[cfg(feature = "bench")]
fn bench_entry(ctx: &Ctx, rest: &[String]) -> Result<(), String> {
    bench::run(ctx, rest)
}

/// Runs the attacks. Like [`bench_entry`], the std-only build re-runs itself with the `attack`
/// feature in release mode: the load generator must be fast enough to push the server.
#[cfg(not(feature = "attack"))]
fn attack_entry(ctx: &Ctx, rest: &[String]) -> Result<(), String> {
    rerun_with_feature(ctx, "attack", rest)
}

/// Re-runs xtask in release with `feature` on, as `cargo xtask <feature> <rest>`: the command
/// of that name lives behind the feature of that name.
#[cfg(any(not(feature = "bench"), not(feature = "attack")))]
fn rerun_with_feature(ctx: &Ctx, feature: &str, rest: &[String]) -> Result<(), String> {
    let mut cmd = ctx.cargo();
    cmd.args([
        "run",
        "--quiet",
        "--release",
        "-p",
        "xtask",
        "--features",
        feature,
        "--",
        feature,
    ])
    .args(rest);
    ctx::run_status(&mut cmd)
}

/// Runs the attacks in this (feature-enabled) binary.
#[cfg(feature = "attack")]
fn attack_entry(ctx: &Ctx, rest: &[String]) -> Result<(), String> {
    attack::run(ctx, rest)
}
