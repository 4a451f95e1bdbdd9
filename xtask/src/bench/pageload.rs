//! Time from navigation start to a usable login form, in headless Chromium, over cold loads.
//!
//! Each load is a new browser with a fresh profile (empty cache) driven over the WebDriver
//! protocol. Before navigating, a script is registered through chromedriver's CDP bridge
//! (`Page.addScriptToEvaluateOnNewDocument`) that watches the DOM and records
//! `performance.now()` — milliseconds since navigation start — the moment `#login-email` exists
//! and is enabled. Polling from outside would add a WebDriver round trip to every figure.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http::Conn;
use super::{TempDir, spawn_quiet, start_server};
use crate::ctx::Ctx;

/// Chromium flags used for every browser the project starts (see shared/toolchain.md).
pub const CHROMIUM_FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
];
const RESOLVER_RULES: &str = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1";

/// Registered before any page script runs; records when the form becomes usable.
const WATCH_SCRIPT: &str = r#"(function () {
  function check() {
    if (window.__kmcReady !== undefined) return true;
    var e = document.getElementById('login-email');
    if (e && !e.disabled) { window.__kmcReady = performance.now(); return true; }
    return false;
  }
  var mo = new MutationObserver(function () { if (check()) mo.disconnect(); });
  mo.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['disabled'] });
})();"#;

/// Waits in the page for the recorded time (or checks by itself if the watcher was not
/// installed) and returns it with the navigation timing entry.
const COLLECT_SCRIPT: &str = r#"var done = arguments[arguments.length - 1];
var start = Date.now();
(function poll() {
  if (window.__kmcReady === undefined) {
    var e = document.getElementById('login-email');
    if (e && !e.disabled) window.__kmcReady = performance.now();
  }
  if (window.__kmcReady !== undefined) {
    var n = performance.getEntriesByType('navigation')[0] || {};
    done({ ready: window.__kmcReady, ttfb: n.responseStart || 0, dcl: n.domContentLoadedEventEnd || 0, load: n.loadEventEnd || 0 });
  } else if (Date.now() - start > 25000) {
    done({ error: 'no usable #login-email within 25 s after the load event' });
  } else {
    setTimeout(poll, 10);
  }
})();"#;

struct Sample {
    ready: f64,
    ttfb: f64,
    dcl: f64,
    load: f64,
}

/// Runs `loads` cold loads of `/login` and returns the markdown section.
pub fn run(
    ctx: &Ctx,
    server: &Path,
    chromium: &str,
    driver: &str,
    loads: usize,
) -> Result<String, String> {
    let tmp = TempDir::new("page")?;
    let (_server, addr) = start_server(ctx, server, tmp.path())?;
    let driver_port = free_port()?;
    let _driver = spawn_quiet(Command::new(driver).arg(format!("--port={driver_port}")))?;
    let driver_addr: SocketAddr = ([127, 0, 0, 1], driver_port).into();
    wait_for_driver(driver_addr)?;

    let url = format!("http://{addr}/login");
    let mut samples = Vec::new();
    let mut via_cdp = true;
    for i in 0..loads {
        let profile = tmp.path().join(format!("profile-{i}"));
        let (s, cdp) = one_load(driver_addr, chromium, &profile, &url)?;
        via_cdp &= cdp;
        println!(
            "load {}/{loads}: usable form at {:.0} ms (TTFB {:.0} ms, DOMContentLoaded {:.0} ms, load {:.0} ms)",
            i + 1,
            s.ready,
            s.ttfb,
            s.dcl,
            s.load
        );
        samples.push(s);
    }
    let col = |f: fn(&Sample) -> f64| {
        let mut v: Vec<f64> = samples.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let ready = col(|s| s.ready);
    let mut md = format!(
        "## Time to a usable login form\n\n{loads} cold loads of `/login` (new headless Chromium, empty profile each), \
         kmc-server (release) on loopback serving `dist/`. Time from navigation start until `#login-email` \
         is in the DOM and enabled{}.\n\n| figure | median | min | max |\n|---|---:|---:|---:|\n",
        if via_cdp {
            " (recorded in the page by a MutationObserver)"
        } else {
            " (polled every 10 ms: CDP unavailable)"
        }
    );
    let rows: [(&str, Vec<f64>); 4] = [
        ("usable login form", ready),
        ("first byte (TTFB)", col(|s| s.ttfb)),
        ("DOMContentLoaded", col(|s| s.dcl)),
        ("load event", col(|s| s.load)),
    ];
    for (name, v) in rows {
        md.push_str(&format!(
            "| {name} | {:.0} ms | {:.0} ms | {:.0} ms |\n",
            median(&v),
            v.first().copied().unwrap_or(f64::NAN),
            v.last().copied().unwrap_or(f64::NAN)
        ));
    }
    Ok(md)
}

/// One cold load in a new session; returns the sample and whether the CDP watcher was used.
fn one_load(
    driver: SocketAddr,
    chromium: &str,
    profile: &Path,
    url: &str,
) -> Result<(Sample, bool), String> {
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
    args.push(RESOLVER_RULES.into());
    args.push(format!("--user-data-dir={}", profile.display()));
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {"binary": chromium, "args": args}
    }}});
    let created = call(driver, "POST", "/session", Some(caps))?;
    let id = created["sessionId"]
        .as_str()
        .ok_or_else(|| format!("no sessionId in {created}"))?
        .to_string();
    let session = Session { driver, id };
    let base = format!("/session/{}", session.id);
    call(
        driver,
        "POST",
        &format!("{base}/timeouts"),
        Some(json!({"script": 30_000, "pageLoad": 60_000})),
    )?;
    let cdp = call(
        driver,
        "POST",
        &format!("{base}/goog/cdp/execute"),
        Some(json!({"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": WATCH_SCRIPT}})),
    )
    .is_ok();
    call(
        driver,
        "POST",
        &format!("{base}/url"),
        Some(json!({"url": url})),
    )?;
    let v = call(
        driver,
        "POST",
        &format!("{base}/execute/async"),
        Some(json!({"script": COLLECT_SCRIPT, "args": []})),
    )?;
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        return Err(e.to_string());
    }
    let f = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    Ok((
        Sample {
            ready: f("ready"),
            ttfb: f("ttfb"),
            dcl: f("dcl"),
            load: f("load"),
        },
        cdp,
    ))
}

/// Ends the WebDriver session (and with it the browser) however the load ended.
struct Session {
    driver: SocketAddr,
    id: String,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = call(
            self.driver,
            "DELETE",
            &format!("/session/{}", self.id),
            None,
        );
    }
}

/// One WebDriver call; returns the `value` member or the WebDriver error as text.
fn call(
    driver: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut conn = Conn::new(driver, Duration::from_secs(90));
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let ct = (!body.is_empty()).then_some("application/json");
    let resp = conn
        .request(method, path, ct, body.as_bytes())
        .map_err(|e| format!("chromedriver {method} {path}: {e}"))?;
    let v: Value = serde_json::from_slice(&resp.body).map_err(|e| {
        format!(
            "chromedriver {method} {path}: bad JSON ({e}): {}",
            resp.text()
        )
    })?;
    let value = v.get("value").cloned().unwrap_or(Value::Null);
    if resp.status != 200 {
        return Err(format!(
            "chromedriver {method} {path}: HTTP {}: {value}",
            resp.status
        ));
    }
    Ok(value)
}

fn wait_for_driver(addr: SocketAddr) -> Result<(), String> {
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        if let Ok(v) = call(addr, "GET", "/status", None)
            && v["ready"].as_bool() == Some(true)
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("chromedriver did not become ready within 30 s".into())
}

/// A loopback port nobody listens on right now (the OS picks it; we release it at once).
fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Median of sorted values (mean of the middle two for an even count).
fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[1.0, 2.0, 3.0, 10.0]), 2.5);
        assert_eq!(median(&[1.0, 2.0, 30.0]), 2.0);
        assert!(median(&[]).is_nan());
    }
}
