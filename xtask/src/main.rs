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
//! `bench` and `attack` do their setup and builds here, then hand over to the `loadtest` crate
//! (see [`loadtest`]), so xtask uses only std, the two compressors and a JSON reader (for
//! `precompress`) and CI, which compiles xtask first, starts at once.

mod bench;
mod ctx;
mod late_preloads;
mod loadtest;
mod pg;
mod precompress;
mod setup;
mod size_budget;
mod static_card;
mod steps;

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
        "bench" => bench::run(&ctx, &args[1..]),
        "attack" => loadtest::attack(&ctx, &args[1..]),
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
