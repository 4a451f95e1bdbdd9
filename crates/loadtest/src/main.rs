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

use std::path::{Path, PathBuf};

use std::process::ExitCode;

use anyhow::Context as _;
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

/// Writes a report named `file` into `dir` (created if needed); its path.
fn write_report(dir: &Path, file: &str, report: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(file);
    std::fs::write(&path, report).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Parses one tool's options as the command line gives them (for the tools' tests).
#[cfg(test)]
fn parse_options<T: clap::Args>(args: &[&str]) -> Result<T, clap::Error> {
    #[derive(Parser)]
    struct One<T: clap::Args> {
        #[command(flatten)]
        options: T,
    }
    One::<T>::try_parse_from(std::iter::once(&"loadtest").chain(args)).map(|o| o.options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_written_whole_into_a_folder_made_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_report(&dir.path().join("target"), "r.md", "# r\n").unwrap();
        assert!(path.ends_with("target/r.md"));
        assert_eq!(std::fs::read_to_string(path).unwrap(), "# r\n");
    }
}
