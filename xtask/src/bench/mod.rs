//! `cargo xtask bench`: sets the machine up (tools, Chromium, Lighthouse when asked for, a
//! throwaway PostgreSQL cluster for the stores section), builds the release app and server,
//! measures the first load against its budget ([`crate::size_budget`]), then hands over to `loadtest bench` for the page
//! loads and the sign-in throughput, with the sizes as the report's first section.
//!
//! Options: `--only sizes|page|lighthouse|login|stores|soak` (repeatable; the soak runs only
//! when named), `--loads N` (default 30),
//! `--seconds S` per concurrency level (default 30), `--no-build` (measure the `dist/` and
//! release server already built). `KMC_SERVER_BIN` names another server binary.
//! The report goes to stdout and to `<target>/bench-report.md`.

use crate::ctx::{self, Ctx};
use crate::loadtest::split_no_build;
use crate::setup::{self, Browser};
use crate::{pg, steps};

/// Whether `--only` (if given at all) names `section`.
fn wants(options: &[String], section: &str) -> bool {
    let only: Vec<&str> = options
        .windows(2)
        .filter(|w| w[0] == "--only")
        .map(|w| w[1].as_str())
        .collect();
    only.is_empty() || only.contains(&section)
}

/// Runs the bench.
pub fn run(ctx: &Ctx, rest: &[String]) -> Result<(), String> {
    let (no_build, mut options) = split_no_build(rest);
    let tools = if no_build {
        setup::Tools::find_browser()
    } else {
        let tools = setup::setup(ctx, Browser::Needed)?;
        steps::build_release(ctx)?;
        tools
    };

    let preface = ctx.target_dir().join("bench-sizes.md");
    if wants(&options, "sizes") {
        let md = crate::size_budget::markdown(&ctx.dist())
            .unwrap_or_else(|e| format!("## Bundle size\n\nFAILED: {e}\n"));
        println!("\n{md}");
        std::fs::create_dir_all(ctx.target_dir()).map_err(|e| e.to_string())?;
        std::fs::write(&preface, &md).map_err(|e| format!("{}: {e}", preface.display()))?;
        options.push("--preface".into());
        options.push(preface.display().to_string());
    }
    if wants(&options, "lighthouse") {
        options.push("--lighthouse".into());
        options.push(setup::lighthouse(ctx)?.display().to_string());
    }
    // The cluster lives until the hand-over returns.
    let mut _cluster = None;
    if wants(&options, "stores") {
        let cluster = pg::Cluster::start(ctx, "bench", pg::Durability::Durable)?;
        for replicas in [1, 2] {
            options.push("--postgres-database".into());
            options.push(cluster.create_database(&format!("bench_{replicas}"))?);
        }
        _cluster = Some(cluster);
    }
    options.extend(["--dist".into(), ctx.dist().display().to_string()]);

    let mut cmd = crate::loadtest::command(ctx, "bench", &options);
    if let Some(c) = &tools.chromium {
        cmd.env("CHROMIUM", c);
    }
    if let Some(d) = &tools.chromedriver {
        cmd.env("CHROMEDRIVER", d);
    }
    ctx::run_status(&mut cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_is_wanted_without_only_and_just_the_named_ones_with_it() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(wants(&args(&["--seconds", "5"]), "stores"));
        let only = args(&["--only", "login", "--only", "sizes"]);
        assert!(wants(&only, "login") && wants(&only, "sizes"));
        assert!(!wants(&only, "stores"));
    }
}
