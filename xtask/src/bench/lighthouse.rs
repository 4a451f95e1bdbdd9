//! Lighthouse 12 (npm `lighthouse@12.2.3`, see [`crate::setup::lighthouse`]) on `/login` and on
//! the enrollment page, with its mobile defaults: a simulated slow 4G link and a 4× slower CPU.
//!
//! The server runs with `--demo`, whose QR link opens a real enrollment page. Chromium is the
//! one the tests use, with flags that keep it off the network (this machine has none: without
//! them it stalls on refused connections). Scores and metrics are read from Lighthouse's JSON.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::{Launch, TempDir, start_server_with};
use crate::ctx::Ctx;

/// Chromium flags for Lighthouse's browser.
const CHROME_FLAGS: &str = "--headless=new --no-sandbox --disable-gpu \
    --disable-background-networking --disable-component-update --disable-sync --no-first-run";

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
pub fn run(ctx: &Ctx, server: &Path, chromium: &str) -> Result<String, String> {
    let lighthouse = crate::setup::lighthouse(ctx)?;
    let tmp = TempDir::new("lighthouse")?;
    let (_server, addr, printed) = start_server_with(
        ctx,
        server,
        tmp.path(),
        &Launch {
            serve: &["--demo"],
            ..Launch::default()
        },
    )?;
    let enroll = printed
        .iter()
        .find_map(|l| l.strip_prefix("demo QR link: "))
        .map(str::trim)
        .ok_or("kmc-server --demo printed no QR link")?
        .to_string();
    let pages = [
        ("/login", format!("http://{addr}/login")),
        ("enrollment (`/actions/auth-info/…`)", enroll),
    ];
    let mut rows = Vec::new();
    for (page, url) in pages {
        println!("lighthouse {page} …");
        let out = tmp.path().join("report.json");
        let status = Command::new(&lighthouse)
            .arg(&url)
            .args([
                "--output=json",
                "--quiet",
                "--only-categories=performance,accessibility,best-practices",
            ])
            .arg(format!("--output-path={}", out.display()))
            .arg(format!("--chrome-flags={CHROME_FLAGS}"))
            .env("CHROME_PATH", chromium)
            .current_dir(tmp.path())
            .status()
            .map_err(|e| format!("cannot start {}: {e}", lighthouse.display()))?;
        if !status.success() {
            return Err(format!("lighthouse {page} failed ({status})"));
        }
        let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
        let report: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
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
        "\nLighthouse {} with `CHROME_PATH={chromium}` and `--chrome-flags=\"{CHROME_FLAGS}\"`, \
         kmc-server (release) on loopback serving `dist/`. Targets: performance ≥ 95, \
         accessibility 100, best practices 100, CLS 0.\n",
        crate::setup::LIGHTHOUSE_VERSION
    ));
    Ok(md)
}

/// Reads the scores (0–100) and the four metrics from a Lighthouse JSON report.
fn scores(page: &'static str, report: &Value) -> Result<Scores, String> {
    if let Some(e) = report["runtimeError"]["message"].as_str() {
        return Err(format!("lighthouse {page}: {e}"));
    }
    let category = |id: &str| {
        report["categories"][id]["score"]
            .as_f64()
            .map(|s| s * 100.0)
            .ok_or_else(|| format!("lighthouse {page}: no {id} score"))
    };
    let metric = |id: &str| {
        report["audits"][id]["numericValue"]
            .as_f64()
            .ok_or_else(|| format!("lighthouse {page}: no {id} value"))
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
        assert!(scores("/login", &broken).unwrap_err().contains("NO_FCP"));
    }
}
