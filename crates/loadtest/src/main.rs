//! `loadtest`: kmc-server measured from outside, as `cargo xtask bench` and
//! `cargo xtask attack` run it after building the release server (and, for the bench, the app).
//!
//! - `bench`: the figures for the notes: page loads, Lighthouse, sign-in throughput against the
//!   argon2id ceiling, by store (see [`bench`]).
//! - `attack`: the server's security promises under attack (see [`attack`]).
//!
//! Each writes its report as markdown into `--report-dir`.

mod attack;
mod bench;
mod client;
mod server;
mod stats;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// kmc-server's figures, measured on this machine.
#[derive(Parser)]
#[command(name = "loadtest", version)]
struct Cli {
    #[command(subcommand)]
    command: Tool,
}

#[derive(Subcommand)]
enum Tool {
    /// Bundle sizes (given by xtask), time to a usable login form, Lighthouse, sign-in
    /// throughput (writes bench-report.md).
    Bench(bench::Options),
    /// Attack a release kmc-server: hostile input, parallel guessing, spraying, slow clients,
    /// flood, kill -9 during writes (writes attack-report.md).
    Attack(attack::Options),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (name, result) = match cli.command {
        Tool::Bench(opts) => ("bench", bench::run(opts)),
        Tool::Attack(opts) => ("attack", attack::run(opts)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}
