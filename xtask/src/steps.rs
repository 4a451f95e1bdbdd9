//! `build`, `serve` and `test`: the dev loop and the CI gate.
//!
//! `test` runs every step it can even after one fails (a formatting slip should not hide a
//! failing test), skipping only the steps whose inputs are missing, then prints a table of
//! steps with their result and duration and exits non-zero if any step failed or was skipped.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::ctx::{self, Ctx};
use crate::pg;
use crate::setup::{self, Browser};
use crate::size_budget;

/// `cargo xtask build`: setup, the release `dist/`, the release `kmc-server`.
pub fn build(ctx: &Ctx) -> Result<(), String> {
    setup::setup(ctx, Browser::NotNeeded)?;
    build_release(ctx)
}

/// The two release builds shared by `build`, `serve` and `bench`.
pub fn build_release(ctx: &Ctx) -> Result<(), String> {
    timed("trunk build --release (dist/)", || {
        ctx::run_status(ctx.cmd("trunk").args(["build", "--release"]))
    })?;
    timed("cargo build --release -p kmc-server", || {
        ctx::run_status(ctx.cargo().args(["build", "--release", "-p", "kmc-server"]))
    })
}

/// `cargo xtask serve`: build, then run the demo server in the foreground until Ctrl-C.
pub fn serve(ctx: &Ctx) -> Result<(), String> {
    build(ctx)?;
    let server = ctx.target_dir().join("release/kmc-server");
    println!("== starting {} (Ctrl-C stops it)", server.display());
    let _ = std::io::stdout().flush();
    // stdout is inherited: the server prints the URL, the demo login and the QR link itself.
    ctx::run_status(ctx.cmd(&server).args([
        "--data-dir",
        "data",
        "serve",
        "--demo",
        "--listen",
        "127.0.0.1:8080",
        "--dist",
        "dist",
    ]))
}

fn timed(what: &str, f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    println!("== {what}");
    let t = Instant::now();
    let r = f();
    println!(
        "== {what}: {} in {}",
        if r.is_ok() { "done" } else { "FAILED" },
        ctx::fmt_duration(t.elapsed())
    );
    r
}

/// `cargo xtask test`: the whole gate, as CI runs it.
pub fn test(ctx: &Ctx) -> Result<(), String> {
    let mut report = Report::default();
    let mut chromedriver = None;
    let mut axe = None;

    let setup_ok = report.step("setup (tools, Chromium)", true, |_| {
        let tools = setup::setup(ctx, Browser::Needed)?;
        chromedriver = tools.chromedriver;
        axe = tools.axe;
        Ok(())
    });
    report.step("cargo fmt --check", setup_ok, |_| {
        ctx::run_status(ctx.cargo().args(["fmt", "--all", "--", "--check"]))
    });
    report.step("cargo clippy -D warnings", setup_ok, |_| {
        ctx::run_status(ctx.cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    });
    // The fuzz targets are a workspace of their own (running them needs nightly's libFuzzer
    // flags): checked here on stable, in the workspace's target dir so the server's
    // dependencies are shared, so that no change to the server leaves them broken.
    report.step("cargo check (fuzz targets)", setup_ok, |_| {
        ctx::run_status(
            ctx.cargo()
                .args(["check", "--manifest-path", "fuzz/Cargo.toml", "--bins"])
                .arg("--target-dir")
                .arg(ctx.target_dir()),
        )
    });
    // The e2e crate's tests drive a browser against dist/ and the server: they run last.
    report.step("native tests (all crates but e2e)", setup_ok, |counts| {
        run_counting(
            ctx.cargo()
                .args(["test", "--workspace", "--exclude", "e2e"]),
            counts,
        )
    });
    // The same tests again with every server test on PostgreSQL: a throwaway cluster, and a
    // fresh database per test (KMC_TEST_DATABASE_URL). The same command line as above, so
    // nothing is rebuilt (doc tests are not repeated).
    let mut postgres = None;
    let pg_ok = report.step("PostgreSQL cluster (initdb, pg_ctl)", setup_ok, |_| {
        postgres = Some(pg::Cluster::start(ctx, "test", pg::Durability::Throwaway)?);
        Ok(())
    });
    report.step("native tests on PostgreSQL (server)", pg_ok, |counts| {
        let url = postgres.as_ref().map(|c| c.url.clone()).unwrap_or_default();
        run_counting(
            ctx.cargo()
                .args([
                    "test",
                    "--workspace",
                    "--exclude",
                    "e2e",
                    "--lib",
                    "--bins",
                    "--tests",
                ])
                .env("KMC_TEST_DATABASE_URL", url),
            counts,
        )
    });
    let dist_ok = report.step("trunk build --release (dist/)", setup_ok, |_| {
        ctx::run_status(ctx.cmd("trunk").args(["build", "--release"]))
    });
    report.step(
        "first load of /login within its size budget",
        dist_ok,
        |_| {
            let summary = size_budget::check(&ctx.dist(), size_budget::FIRST_LOAD_BUDGET)?;
            println!("{summary}");
            Ok(())
        },
    );
    let server_ok = report.step("cargo build -p kmc-server", setup_ok, |_| {
        ctx::run_status(ctx.cargo().args(["build", "-p", "kmc-server"]))
    });
    let driver = chromedriver.unwrap_or_else(|| "/usr/bin/chromedriver".into());
    report.step("browser tests (wasm-bindgen-test)", setup_ok, |counts| {
        let mut cmd = ctx.cargo();
        cmd.args([
            "test",
            "-p",
            "kmc-login",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .env("CHROMEDRIVER", &driver);
        // The runner's default 20 s budget is too tight on 2 shared cores.
        if std::env::var_os("WASM_BINDGEN_TEST_TIMEOUT").is_none() {
            cmd.env("WASM_BINDGEN_TEST_TIMEOUT", "180");
        }
        // Nor is its 5 s for chromedriver to listen: a CI run on 2026-12-02 failed there
        // ("driver failed to bind port during startup"), chromedriver started but not yet
        // listening when the runner gave up and killed it.
        if std::env::var_os("WASM_BINDGEN_TEST_DRIVER_TIMEOUT").is_none() {
            cmd.env("WASM_BINDGEN_TEST_DRIVER_TIMEOUT", "60");
        }
        // The runner reads Chromium's flags from webdriver.json at the workspace root.
        run_counting(&mut cmd, counts)
    });
    let server_bin = ctx.target_dir().join("debug/kmc-server");
    report.step("end-to-end tests (e2e)", dist_ok && server_ok, |counts| {
        // The two-replica flow shares a fresh PostgreSQL database when the cluster is up.
        let replica_db = postgres
            .as_ref()
            .map(|c| c.create_database("kmc_e2e"))
            .transpose()?;
        run_counting(
            ctx.cargo()
                .args(["test", "-p", "e2e", "--", "--test-threads=1"])
                .envs(replica_db.map(|url| ("KMC_E2E_DATABASE_URL", url)))
                .env("KMC_SERVER_BIN", &server_bin)
                .env("KMC_DIST", ctx.dist())
                .envs(axe.as_ref().map(|path| ("KMC_AXE_JS", path)))
                .env("CHROMEDRIVER", &driver),
            counts,
        )
    });

    drop(postgres);
    report.print();
    match report.first_problem() {
        None => Ok(()),
        Some(step) => Err(format!("step `{step}` did not pass (see the table above)")),
    }
}

/// Test counts summed over every runner's `test result:` lines.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Counts {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl Counts {
    /// Adds the counts of one `test result: ok. 3 passed; 0 failed; 1 ignored; …` line.
    fn add_line(&mut self, line: &str) -> bool {
        let Some(rest) = line.trim().strip_prefix("test result:") else {
            return false;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(n)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<u64>() else { continue };
            match label {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => {}
            }
        }
        true
    }
}

/// Runs a test runner, echoing its stdout line by line (so its `test result` lines are printed
/// as they come) while counting the results.
fn run_counting(cmd: &mut Command, counts: &mut Counts) -> Result<(), String> {
    println!("$ {}", ctx::display(cmd));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", ctx::display(cmd)))?;
    if let Some(out) = child.stdout.take() {
        let stdout = std::io::stdout();
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            counts.add_line(&line);
            let mut lock = stdout.lock();
            let _ = writeln!(lock, "{line}");
            let _ = lock.flush();
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", ctx::display(cmd)))
    }
}

enum Outcome {
    Pass,
    Fail,
    Skipped,
}

#[derive(Default)]
struct Report {
    rows: Vec<(&'static str, Outcome, Duration)>,
    counts: Counts,
}

impl Report {
    /// Runs one step when `can_run`, records its outcome and returns whether it passed.
    fn step(
        &mut self,
        name: &'static str,
        can_run: bool,
        f: impl FnOnce(&mut Counts) -> Result<(), String>,
    ) -> bool {
        if !can_run {
            println!("\n== {name}: skipped (an earlier step it needs failed)");
            self.rows.push((name, Outcome::Skipped, Duration::ZERO));
            return false;
        }
        println!("\n== {name}");
        let t = Instant::now();
        let result = f(&mut self.counts);
        let took = t.elapsed();
        let ok = match result {
            Ok(()) => {
                println!("== {name}: passed in {}", ctx::fmt_duration(took));
                true
            }
            Err(e) => {
                println!("== {name}: FAILED in {}: {e}", ctx::fmt_duration(took));
                false
            }
        };
        self.rows
            .push((name, if ok { Outcome::Pass } else { Outcome::Fail }, took));
        ok
    }

    fn first_problem(&self) -> Option<&'static str> {
        self.rows
            .iter()
            .find(|(_, o, _)| !matches!(o, Outcome::Pass))
            .map(|(n, _, _)| *n)
    }

    fn print(&self) {
        let width = self.rows.iter().map(|r| r.0.len()).max().unwrap_or(4);
        let total: Duration = self.rows.iter().map(|r| r.2).sum();
        println!("\n== summary");
        println!("{:width$}  result   time", "step");
        for (name, outcome, took) in &self.rows {
            let (word, time) = match outcome {
                Outcome::Pass => ("pass", ctx::fmt_duration(*took)),
                Outcome::Fail => ("FAIL", ctx::fmt_duration(*took)),
                Outcome::Skipped => ("skipped", "-".into()),
            };
            println!("{name:width$}  {word:7}  {time}");
        }
        println!("{:width$}           {}", "total", ctx::fmt_duration(total));
        // One closing line summing every runner's counts (ignored tests count as skipped).
        println!(
            "tests: {} passed, {} failed, {} skipped",
            self.counts.passed, self.counts.failed, self.counts.ignored
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_result_lines_of_libtest_and_the_wasm_runner_are_summed() {
        let mut c = Counts::default();
        assert!(c.add_line(
            "test result: ok. 12 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.31s"
        ));
        assert!(c.add_line(
            "test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 filtered out; finished in 4.2s"
        ));
        assert!(!c.add_line("running 12 tests"));
        assert!(!c.add_line("test login_works ... ok"));
        assert_eq!(
            c,
            Counts {
                passed: 15,
                failed: 1,
                ignored: 2
            }
        );
    }

    #[test]
    fn a_report_with_a_skipped_step_names_it_as_the_problem() {
        let mut r = Report::default();
        assert!(r.step("a", true, |_| Ok(())));
        assert!(!r.step("b", false, |_| Ok(())));
        assert_eq!(r.first_problem(), Some("b"));
    }

    #[test]
    fn a_failing_step_is_reported_and_the_report_names_it() {
        let mut r = Report::default();
        assert!(!r.step("fmt", true, |_| Err("diff".into())));
        assert!(r.step("tests", true, |_| Ok(())));
        assert_eq!(r.first_problem(), Some("fmt"));
    }
}
