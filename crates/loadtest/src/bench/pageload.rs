//! Time from navigation start to a usable login form, and to the app's take-over, in headless
//! Chromium over cold loads, beside a plain HTML form served by the same server in the same run.
//!
//! Each load is a new browser with a fresh profile (empty cache): the e2e suite's [`Browser`],
//! with the project's Chromium flags, driven through fantoccini. Before navigating, a script is
//! registered through chromedriver's CDP bridge
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

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use e2e::Browser;
use fantoccini::wd::TimeoutConfiguration;
use serde_json::{Value, json};

use super::{Options, start_server};
use crate::server::temp_dir;
use crate::stats::Latencies;

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
pub async fn run(o: &Options) -> Result<String> {
    let loads = o.loads;
    let tmp = temp_dir("page")?;
    let dist = tmp.path().join("dist");
    let (app_bytes, plain_bytes) = copy_dist_with_plain_form(&o.dist, &dist)?;
    let server = start_server(o, tmp.path(), "server.log", &[], &[], Some(&dist))?;
    let addr = server.addr;

    let app_url = format!("http://{addr}/login");
    let plain_url = format!("http://{addr}/{PLAIN_FORM}");
    let (mut app, mut plain) = (Vec::new(), Vec::new());
    for i in 0..loads {
        // Alternate which goes first, so neither always follows the other's browser exit.
        let order = if i % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for is_app in order {
            let url = if is_app { &app_url } else { &plain_url };
            // A browser that cannot start panics (as in the tests); its task turns that into
            // this section's error.
            let s = tokio::spawn(one_load(url.clone(), is_app))
                .await
                .map_err(|e| anyhow!("the browser failed: {e}"))??;
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
    Ok(report(&app, &plain, loads, app_bytes, plain_bytes))
}

/// Copies `dist/` into `to` and writes the plain form beside it; returns the sizes of
/// `index.html` and of the plain form.
fn copy_dist_with_plain_form(dist: &Path, to: &Path) -> Result<(usize, usize)> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(dist).with_context(|| dist.display().to_string())? {
        let path = entry?.path();
        if path.is_file()
            && let Some(name) = path.file_name()
        {
            std::fs::copy(&path, to.join(name))?;
        }
    }
    let index = std::fs::read_to_string(dist.join("index.html"))
        .with_context(|| format!("{} (run trunk build first)", dist.display()))?;
    let plain = plain_form(&index);
    std::fs::write(to.join(PLAIN_FORM), &plain)?;
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
        } else if tag.starts_with("<link") && tag.contains("preload") {
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
    app_bytes: usize,
    plain_bytes: usize,
) -> String {
    let col = |v: &[Sample], f: fn(&Sample) -> f64| {
        let mut l = Latencies::default();
        for s in v {
            l.record(Duration::from_secs_f64(f(s).max(0.0) / 1000.0));
        }
        l
    };
    let (app_ready, plain_ready) = (col(app, |s| s.ready), col(plain, |s| s.ready));
    let ratio = app_ready.median() / plain_ready.median();
    let mut md = format!(
        "## Time to a usable login form\n\n{loads} cold loads of `/login` (the app, `index.html` {app_bytes} B) and \
         {loads} of `/{PLAIN_FORM}` (the same card without any script, {plain_bytes} B), alternating, each in a new \
         headless Chromium with an empty profile; kmc-server (release) on loopback serving both. \
         *Usable*: `#login-email` is in the DOM and enabled; *taken over*: the app's own card has replaced \
         the static one, so a submit is handled by the app (recorded in the page by a \
         MutationObserver).\n\n\
         **Usable form: app {:.0} ms, plain form {:.0} ms (medians), ratio {ratio:.2}** (target ≤ 1.3 and ≤ 150 ms). \
         **App taken over: {:.0} ms** (median).\n\n\
         | figure | app median | min | max | plain form median |\n|---|---:|---:|---:|---:|\n",
        app_ready.median(),
        plain_ready.median(),
        col(app, |s| s.takeover).median(),
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
            format!("{:.0} ms", col(plain, f).median())
        } else {
            "–".into()
        };
        md.push_str(&format!(
            "| {name} | {:.0} ms | {:.0} ms | {:.0} ms | {p} |\n",
            v.median(),
            v.min(),
            v.max()
        ));
    }
    md
}

/// One cold load in a new browser with a fresh profile.
async fn one_load(url: String, app: bool) -> Result<Sample> {
    let browser = Browser::start().await;
    let timeouts = TimeoutConfiguration::new(
        Some(Duration::from_secs(30)),
        Some(Duration::from_secs(60)),
        None,
    );
    browser.client.update_timeouts(timeouts).await?;
    browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": WATCH_SCRIPT }),
        )
        .await;
    browser.client.goto(&url).await?;
    let v = browser
        .client
        .execute_async(COLLECT_SCRIPT, vec![json!(app)])
        .await?;
    browser.close().await;
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        bail!("{e}");
    }
    let f = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    Ok(Sample {
        ready: f("ready"),
        takeover: f("takeover"),
        fcp: f("fcp"),
        ttfb: f("ttfb"),
        dcl: f("dcl"),
        load: f("load"),
    })
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
}
