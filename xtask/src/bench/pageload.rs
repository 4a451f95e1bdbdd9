//! Time from navigation start to a usable login form, and to the app's take-over, in headless
//! Chromium over cold loads, beside a plain HTML form served by the same server in the same run.
//!
//! Each load is a new browser with a fresh profile (empty cache) driven over the WebDriver
//! protocol. Before navigating, a script is registered through chromedriver's CDP bridge
//! (`Page.addScriptToEvaluateOnNewDocument`) that watches the DOM and records
//! `performance.now()` — milliseconds since navigation start — the moment `#login-email` exists
//! and is enabled (usable: the static card of `index.html` has it), and the moment the app's
//! own card (`[data-testid=login-card]`) is in the page (taken over: a submit is the app's).
//! Polling from outside would add a WebDriver round trip to every figure.
//!
//! The plain form is `index.html` without its scripts and preloads (the same card, the same
//! inlined CSS), padded to the same size, written beside a copy of `dist/` as
//! `plain-form.html`: what a form that needs no module costs on this server and browser.
//! App and plain loads alternate so drift on the machine hits both alike.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http::Conn;
use super::{Launch, TempDir, spawn_quiet, start_server_with};
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

/// Registered before any page script runs; records when the form becomes usable and when the
/// app's card has replaced the static one.
const WATCH_SCRIPT: &str = r#"(function () {
  function check() {
    if (window.__kmcReady === undefined) {
      var e = document.getElementById('login-email');
      if (e && !e.disabled) window.__kmcReady = performance.now();
    }
    if (window.__kmcTakeOver === undefined && document.querySelector('[data-testid=login-card]')) {
      window.__kmcTakeOver = performance.now();
    }
    return window.__kmcReady !== undefined && window.__kmcTakeOver !== undefined;
  }
  var mo = new MutationObserver(function () { if (check()) mo.disconnect(); });
  mo.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['disabled'] });
})();"#;

/// Waits in the page for the recorded times (or checks by itself if the watcher was not
/// installed) and returns them with the navigation and paint timing entries. `arguments[0]`
/// says whether to wait for the app's take-over too (not for the plain form).
const COLLECT_SCRIPT: &str = r#"var done = arguments[arguments.length - 1];
var app = arguments[0];
var start = Date.now();
(function poll() {
  if (window.__kmcReady === undefined) {
    var e = document.getElementById('login-email');
    if (e && !e.disabled) window.__kmcReady = performance.now();
  }
  if (app && window.__kmcTakeOver === undefined && document.querySelector('[data-testid=login-card]')) {
    window.__kmcTakeOver = performance.now();
  }
  if (window.__kmcReady !== undefined && (!app || window.__kmcTakeOver !== undefined)) {
    var n = performance.getEntriesByType('navigation')[0] || {};
    var fcp = performance.getEntriesByName('first-contentful-paint')[0];
    done({ ready: window.__kmcReady, takeover: app ? window.__kmcTakeOver : 0,
           fcp: fcp ? fcp.startTime : 0, ttfb: n.responseStart || 0,
           dcl: n.domContentLoadedEventEnd || 0, load: n.loadEventEnd || 0 });
  } else if (Date.now() - start > 25000) {
    done({ error: 'no usable #login-email (or no take-over by the app) within 25 s after the load event' });
  } else {
    setTimeout(poll, 10);
  }
})();"#;

struct Sample {
    ready: f64,
    takeover: f64,
    fcp: f64,
    ttfb: f64,
    dcl: f64,
    load: f64,
}

/// The plain form's file name beside the copy of `dist/`.
const PLAIN_FORM: &str = "plain-form.html";

/// Runs `loads` cold loads of `/login` and as many of the plain form, and returns the markdown.
pub fn run(
    ctx: &Ctx,
    server: &Path,
    chromium: &str,
    driver: &str,
    loads: usize,
) -> Result<String, String> {
    let tmp = TempDir::new("page")?;
    let dist = tmp.path().join("dist");
    let (app_bytes, plain_bytes) = copy_dist_with_plain_form(&ctx.dist(), &dist)?;
    let (_server, addr, _) = start_server_with(
        ctx,
        server,
        tmp.path(),
        &Launch {
            dist: Some(&dist),
            ..Launch::default()
        },
    )?;
    let driver_port = free_port()?;
    let _driver = spawn_quiet(Command::new(driver).arg(format!("--port={driver_port}")))?;
    let driver_addr: SocketAddr = ([127, 0, 0, 1], driver_port).into();
    wait_for_driver(driver_addr)?;

    let app_url = format!("http://{addr}/login");
    let plain_url = format!("http://{addr}/{PLAIN_FORM}");
    let (mut app, mut plain) = (Vec::new(), Vec::new());
    let mut via_cdp = true;
    for i in 0..loads {
        // Alternate which goes first, so neither always follows the other's browser exit.
        let order = if i % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for is_app in order {
            let profile = tmp.path().join(format!(
                "profile-{i}-{}",
                if is_app { "app" } else { "plain" }
            ));
            let url = if is_app { &app_url } else { &plain_url };
            let (s, cdp) = one_load(driver_addr, chromium, &profile, url, is_app)?;
            via_cdp &= cdp;
            println!(
                "load {}/{loads} {}: usable form at {:.0} ms{} (FCP {:.0} ms, TTFB {:.0} ms, DOMContentLoaded {:.0} ms, load {:.0} ms)",
                i + 1,
                if is_app { "app  " } else { "plain" },
                s.ready,
                if is_app {
                    format!(", app took over at {:.0} ms", s.takeover)
                } else {
                    String::new()
                },
                s.fcp,
                s.ttfb,
                s.dcl,
                s.load
            );
            if is_app { &mut app } else { &mut plain }.push(s);
        }
    }
    Ok(report(&app, &plain, loads, via_cdp, app_bytes, plain_bytes))
}

/// Copies `dist/` into `to` and writes the plain form beside it; returns the sizes of
/// `index.html` and of the plain form.
fn copy_dist_with_plain_form(dist: &Path, to: &Path) -> Result<(usize, usize), String> {
    std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for entry in std::fs::read_dir(dist).map_err(|e| format!("{}: {e}", dist.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_file()
            && let Some(name) = path.file_name()
        {
            std::fs::copy(&path, to.join(name)).map_err(|e| e.to_string())?;
        }
    }
    let index = std::fs::read_to_string(dist.join("index.html"))
        .map_err(|e| format!("{}: {e} (run trunk build first)", dist.display()))?;
    let plain = plain_form(&index);
    std::fs::write(to.join(PLAIN_FORM), &plain).map_err(|e| e.to_string())?;
    Ok((index.len(), plain.len()))
}

/// `index.html` without scripts and preloads (nothing that loads the app), padded with a comment
/// to the same byte size.
fn plain_form(index: &str) -> String {
    let mut out = String::with_capacity(index.len());
    let lower = index.to_ascii_lowercase();
    let mut at = 0;
    while let Some(found) = lower[at..].find('<').map(|f| at + f) {
        out.push_str(&index[at..found]);
        let tag_end = lower[found..]
            .find('>')
            .map_or(index.len(), |e| found + e + 1);
        let tag = &lower[found..tag_end];
        at = if tag.starts_with("<script") {
            lower[found..]
                .find("</script>")
                .map_or(index.len(), |e| found + e + "</script>".len())
        } else if tag.starts_with("<link") && crate::late_preloads::is_preload(tag) {
            tag_end
        } else {
            out.push_str(&index[found..tag_end]);
            tag_end
        };
    }
    out.push_str(&index[at.min(index.len())..]);
    let pad = index.len().saturating_sub(out.len() + "<!---->".len());
    let body_end = out.rfind("</body>").unwrap_or(out.len());
    out.insert_str(body_end, &format!("<!--{}-->", " ".repeat(pad)));
    out
}

/// The markdown section.
fn report(
    app: &[Sample],
    plain: &[Sample],
    loads: usize,
    via_cdp: bool,
    app_bytes: usize,
    plain_bytes: usize,
) -> String {
    let col = |v: &[Sample], f: fn(&Sample) -> f64| {
        let mut v: Vec<f64> = v.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let (app_ready, plain_ready) = (col(app, |s| s.ready), col(plain, |s| s.ready));
    let ratio = median(&app_ready) / median(&plain_ready);
    let mut md = format!(
        "## Time to a usable login form\n\n{loads} cold loads of `/login` (the app, `index.html` {app_bytes} B) and \
         {loads} of `/{PLAIN_FORM}` (the same card without any script, {plain_bytes} B), alternating, each in a new \
         headless Chromium with an empty profile; kmc-server (release) on loopback serving both. \
         *Usable*: `#login-email` is in the DOM and enabled; *taken over*: the app's own card has replaced \
         the static one, so a submit is handled by the app{}.\n\n\
         **Usable form: app {:.0} ms, plain form {:.0} ms (medians), ratio {ratio:.2}** (target ≤ 1.3 and ≤ 150 ms). \
         **App taken over: {:.0} ms** (median).\n\n\
         | figure | app median | min | max | plain form median |\n|---|---:|---:|---:|---:|\n",
        if via_cdp {
            " (recorded in the page by a MutationObserver)"
        } else {
            " (polled every 10 ms: CDP unavailable)"
        },
        median(&app_ready),
        median(&plain_ready),
        median(&col(app, |s| s.takeover)),
    );
    /// A row: its name, the figure of one load, and whether the plain form has it too.
    type RowSpec = (&'static str, fn(&Sample) -> f64, bool);
    let rows: [RowSpec; 6] = [
        ("usable login form", |s| s.ready, true),
        ("app taken over", |s| s.takeover, false),
        ("first contentful paint", |s| s.fcp, true),
        ("first byte (TTFB)", |s| s.ttfb, true),
        ("DOMContentLoaded", |s| s.dcl, true),
        ("load event", |s| s.load, true),
    ];
    for (name, f, both) in rows {
        let v = col(app, f);
        let p = if both {
            format!("{:.0} ms", median(&col(plain, f)))
        } else {
            "–".into()
        };
        md.push_str(&format!(
            "| {name} | {:.0} ms | {:.0} ms | {:.0} ms | {p} |\n",
            median(&v),
            v.first().copied().unwrap_or(f64::NAN),
            v.last().copied().unwrap_or(f64::NAN)
        ));
    }
    md
}

/// One cold load in a new session; returns the sample and whether the CDP watcher was used.
fn one_load(
    driver: SocketAddr,
    chromium: &str,
    profile: &Path,
    url: &str,
    app: bool,
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
        Some(json!({"script": COLLECT_SCRIPT, "args": [app]})),
    )?;
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        return Err(e.to_string());
    }
    let f = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    Ok((
        Sample {
            ready: f("ready"),
            takeover: f("takeover"),
            fcp: f("fcp"),
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
    fn the_plain_form_keeps_the_card_drops_every_script_and_has_the_same_size() {
        let index = "<html><head><script>var r=1;</script><style>.card{}</style>\
            <script type=module>import init from\"/a.js\";</script>\
            <link crossorigin href=/a.js rel=modulepreload><link as=fetch href=/a_bg.wasm rel=preload>\
            </head><body><main id=boot><input id=login-email></main></body></html>";
        let plain = plain_form(index);
        assert!(
            !plain.contains("<script") && !plain.contains("preload"),
            "{plain}"
        );
        assert!(plain.contains("<style>.card{}</style>") && plain.contains("id=login-email"));
        assert_eq!(plain.len(), index.len());
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[1.0, 2.0, 3.0, 10.0]), 2.5);
        assert_eq!(median(&[1.0, 2.0, 30.0]), 2.0);
        assert!(median(&[]).is_nan());
    }
}
