//! Lighthouse (the npm package `cargo xtask bench` installs, named with `--lighthouse`) on
//! `/login` and on the enrollment page, with its mobile defaults: a simulated slow 4G link and a 4× slower CPU.
//!
//! The server runs with `--demo`, whose QR link opens a real enrollment page. Chromium is the
//! one the tests use, with flags that keep it off the network (this machine has none: without
//! them it stalls on refused connections). Scores and metrics are read from Lighthouse's JSON.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::Value;

use super::{Options, start_server};
use crate::server::temp_dir;

/// Chromium flags for Lighthouse's browser: the project's list, but for the flags with a space
/// in their value, which `--chrome-flags` (split at spaces) cannot carry.
fn chrome_flags() -> String {
    e2e::browser::CHROMIUM_FLAGS
        .iter()
        .filter(|f| !f.contains(' '))
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// One page's result.
#[derive(Debug)]
struct Scores {
    page: &'static str,
    performance: f64,
    accessibility: f64,
    best_practices: f64,
    fcp_ms: f64,
    lcp_ms: f64,
    tbt_ms: f64,
    cls: f64,
}

/// Runs Lighthouse on both pages and returns the markdown section.
pub fn run(o: &Options) -> Result<String> {
    let lighthouse = o
        .lighthouse
        .as_deref()
        .context("the lighthouse section needs --lighthouse")?;
    let chromium = o.chromium.display().to_string();
    let chrome_flags = chrome_flags();
    let version = lighthouse_version(lighthouse)?;
    let tmp = temp_dir("lighthouse")?;
    let server = start_server(o, tmp.path(), "server.log", &[], &["--demo"], None)?;
    let addr = server.addr;
    let enroll = server
        .printed
        .iter()
        .find_map(|l| l.strip_prefix("demo QR link: "))
        .map(str::trim)
        .context("kmc-server --demo printed no QR link")?
        .to_string();
    let pages = [
        ("/login", format!("http://{addr}/login")),
        ("enrollment (`/actions/auth-info/…`)", enroll),
    ];
    let mut rows = Vec::new();
    for (page, url) in pages {
        println!("lighthouse {page} …");
        let out = tmp.path().join("report.json");
        let status = Command::new(lighthouse)
            .arg(&url)
            .args([
                "--output=json",
                "--quiet",
                "--only-categories=performance,accessibility,best-practices",
            ])
            .arg(format!("--output-path={}", out.display()))
            .arg(format!("--chrome-flags={chrome_flags}"))
            .env("CHROME_PATH", &chromium)
            .current_dir(tmp.path())
            .status()
            .with_context(|| format!("cannot start {}", lighthouse.display()))?;
        if !status.success() {
            bail!("lighthouse {page} failed ({status})");
        }
        let text = std::fs::read_to_string(&out)?;
        let report: Value = serde_json::from_str(&text)?;
        rows.push(scores(page, &report)?);
    }
    let mut md = String::from(
        "## Lighthouse (mobile defaults: simulated slow 4G, 4× CPU slowdown)\n\n\
         | page | performance | accessibility | best practices | FCP | LCP | TBT | CLS |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in &rows {
        md.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} ms | {:.0} ms | {:.0} ms | {:.3} |\n",
            r.page,
            r.performance,
            r.accessibility,
            r.best_practices,
            r.fcp_ms,
            r.lcp_ms,
            r.tbt_ms,
            r.cls
        ));
    }
    md.push_str(&format!(
        "\nLighthouse {version} with `CHROME_PATH={chromium}` and `--chrome-flags=\"{chrome_flags}\"`, \
         kmc-server (release) on loopback serving `dist/`. Targets: performance ≥ 95, \
         accessibility 100, best practices 100, CLS 0.\n"
    ));
    Ok(md)
}

/// What `lighthouse --version` prints.
fn lighthouse_version(lighthouse: &Path) -> Result<String> {
    let out = Command::new(lighthouse)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot start {}", lighthouse.display()))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Reads the scores (0–100) and the four metrics from a Lighthouse JSON report.
fn scores(page: &'static str, report: &Value) -> Result<Scores> {
    if let Some(e) = report["runtimeError"]["message"].as_str() {
        bail!("lighthouse {page}: {e}");
    }
    let category = |id: &str| {
        report["categories"][id]["score"]
            .as_f64()
            .map(|s| s * 100.0)
            .ok_or_else(|| anyhow!("lighthouse {page}: no {id} score"))
    };
    let metric = |id: &str| {
        report["audits"][id]["numericValue"]
            .as_f64()
            .ok_or_else(|| anyhow!("lighthouse {page}: no {id} value"))
    };
    Ok(Scores {
        page,
        performance: category("performance")?,
        accessibility: category("accessibility")?,
        best_practices: category("best-practices")?,
        fcp_ms: metric("first-contentful-paint")?,
        lcp_ms: metric("largest-contentful-paint")?,
        tbt_ms: metric("total-blocking-time")?,
        cls: metric("cumulative-layout-shift")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lighthouse_gets_every_project_flag_that_has_no_space() {
        let flags = chrome_flags();
        assert!(flags.starts_with("--headless=new --no-sandbox"), "{flags}");
        assert!(!flags.contains("host-resolver-rules"), "{flags}");
    }

    #[test]
    fn scores_and_metrics_are_read_from_a_lighthouse_report() {
        let report = serde_json::json!({
            "categories": {
                "performance": {"score": 0.97},
                "accessibility": {"score": 1},
                "best-practices": {"score": 1}
            },
            "audits": {
                "first-contentful-paint": {"numericValue": 812.5},
                "largest-contentful-paint": {"numericValue": 900.0},
                "total-blocking-time": {"numericValue": 40.0},
                "cumulative-layout-shift": {"numericValue": 0.0}
            }
        });
        let s = scores("/login", &report).unwrap();
        assert_eq!(s.performance.round(), 97.0);
        assert_eq!(s.accessibility, 100.0);
        assert_eq!(s.lcp_ms, 900.0);
        assert_eq!(s.cls, 0.0);
        let broken = serde_json::json!({"runtimeError": {"message": "NO_FCP"}});
        assert!(
            scores("/login", &broken)
                .unwrap_err()
                .to_string()
                .contains("NO_FCP")
        );
    }
}
