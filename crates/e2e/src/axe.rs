//! The accessibility gate's eyes: axe-core run inside the page, plus the WCAG 2.2 checks axe
//! does not make (a focused control hidden under another element, paste refused), and the
//! looks (colour scheme and width) a page is checked in.
//!
//! axe-core comes from npm at a pinned version, installed by `cargo xtask setup` outside the
//! repository; `KMC_AXE_JS` names its `axe.min.js` (else the place setup puts it). It is run
//! through WebDriver's script execution, which the page's Content-Security-Policy does not
//! govern, so the page under test is served exactly as users get it.
//!
//! A finding names the page state, the language, the look, the rule and the element (by its
//! CSS selector, never its text or markup: the enrollment page holds a secret).

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::browser::Browser;

/// A colour scheme and a viewport width to check a page in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    /// `prefers-color-scheme: dark` instead of light.
    pub dark: bool,
    /// The viewport's width in CSS pixels.
    pub width: u32,
}

impl Look {
    /// Light, 1000 px: the look every language is checked in.
    pub const WIDE_LIGHT: Look = Look {
        dark: false,
        width: 1000,
    };
    /// Every combination of light and dark with 1000 and 320 px, [`Look::WIDE_LIGHT`] first.
    pub const ALL: [Look; 4] = [
        Look::WIDE_LIGHT,
        Look {
            dark: false,
            width: 320,
        },
        Look {
            dark: true,
            width: 1000,
        },
        Look {
            dark: true,
            width: 320,
        },
    ];

    /// How a finding names this look: `light 1000px`.
    pub fn name(self) -> String {
        format!(
            "{} {}px",
            if self.dark { "dark" } else { "light" },
            self.width
        )
    }
}

/// Where `cargo xtask setup` installs axe-core, unless `KMC_AXE_JS` says otherwise.
pub fn axe_source_path() -> PathBuf {
    if let Some(path) = std::env::var_os("KMC_AXE_JS") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".local/share/kmc-tools/axe-core/node_modules/axe-core/axe.min.js")
}

/// axe-core's source, read once per test.
pub fn axe_source() -> String {
    let path = axe_source_path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core not found at {} ({e}): run `cargo xtask setup`, or set KMC_AXE_JS",
            path.display()
        )
    })
}

/// Puts the page in `look`: the colour scheme through media emulation, the width through the
/// device metrics (900 px high), then waits two frames and for every animation and transition
/// to end, so axe sees the page at rest.
pub async fn set_look(browser: &Browser, look: Look) {
    let scheme = if look.dark { "dark" } else { "light" };
    browser
        .cdp(
            "Emulation.setEmulatedMedia",
            json!({ "media": "", "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await;
    browser
        .cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": look.width, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await;
    settle(browser).await;
}

/// Waits two animation frames, then until no animation or transition is running.
pub async fn settle(browser: &Browser) {
    browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            vec![],
        )
        .await
        .expect("two animation frames");
    browser
        .wait_until("animations and transitions to end", || async {
            let running = browser
                .js("return document.getAnimations().filter(a => a.playState === 'running').length")
                .await;
            (running == json!(0)).then_some(())
        })
        .await;
}

/// Injects axe-core unless this document already has it, then runs every rule (with
/// `target-size`, WCAG 2.5.8, switched on) and returns one line per violating element:
/// `rule (impact): selector`. Panics when axe cannot run, or when `target-size` did not run.
pub async fn axe_violations(browser: &Browser, source: &str) -> Vec<String> {
    if browser.js("return typeof window.axe").await != json!("object") {
        browser
            .client
            .execute(&format!("{source}\n;return typeof window.axe;"), vec![])
            .await
            .expect("axe-core loads into the page");
    }
    let result = browser
        .client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, { rules: { 'target-size': { enabled: true } } })
                 .then(r => done({
                   ran: [].concat(r.passes, r.violations, r.incomplete, r.inapplicable).map(x => x.id),
                   violations: r.violations.map(v => ({
                     id: v.id,
                     impact: v.impact,
                     nodes: v.nodes.map(n => n.target.join(' '))
                   }))
                 }))
                 .catch(e => done({ error: String(e) }));"#,
            vec![],
        )
        .await
        .expect("axe.run answers");
    if let Some(error) = result.get("error") {
        panic!("axe.run failed: {error}");
    }
    let ran = result["ran"].as_array().cloned().unwrap_or_default();
    assert!(
        ran.contains(&json!("target-size")),
        "axe's target-size rule (WCAG 2.5.8) did not run"
    );
    let mut lines = Vec::new();
    for violation in result["violations"].as_array().into_iter().flatten() {
        for node in violation["nodes"].as_array().into_iter().flatten() {
            lines.push(format!(
                "{} ({}): {}",
                violation["id"].as_str().unwrap_or("?"),
                violation["impact"].as_str().unwrap_or("?"),
                node.as_str().unwrap_or("?")
            ));
        }
    }
    lines
}

/// WCAG 2.4.11 and 1.4.10: focuses every focusable control in turn (as Tab would, scrolling it
/// into view) and reports each one whose centre is covered by another element; and reports
/// horizontal scrolling. The focus goes back where it was.
pub async fn focus_and_reflow_problems(browser: &Browser) -> Vec<String> {
    let found = browser
        .js(r#"
            const problems = [];
            const root = document.documentElement;
            if (root.scrollWidth > window.innerWidth) {
              problems.push(`horizontal-scroll: the page is ${root.scrollWidth}px wide`);
            }
            const name = el => el.id ? `#${el.id}`
              : el.dataset.testid ? `[data-testid=${el.dataset.testid}]`
              : el.tagName.toLowerCase();
            const before = document.activeElement;
            const focusable = Array.from(document.querySelectorAll(
              'a[href], button, input, select, textarea, summary, [tabindex]'))
              .filter(el => !el.disabled && el.tabIndex >= 0 && el.getClientRects().length > 0
                && getComputedStyle(el).visibility !== 'hidden');
            for (const el of focusable) {
              el.focus();
              if (document.activeElement !== el) continue;
              const r = el.getBoundingClientRect();
              const x = r.left + r.width / 2, y = r.top + r.height / 2;
              if (x < 0 || y < 0 || x > window.innerWidth || y > window.innerHeight) {
                problems.push(`focus-off-screen: ${name(el)}`);
                continue;
              }
              const top = document.elementFromPoint(x, y);
              const ok = top && (top === el || el.contains(top) || top.contains(el)
                || (el.labels && Array.from(el.labels).some(l => l.contains(top))));
              if (!ok) problems.push(`focus-obscured: ${name(el)} under ${name(top)}`);
            }
            if (before && before.focus) before.focus(); else document.activeElement.blur();
            return problems;
        "#)
        .await;
    strings(&found)
}

/// WCAG 3.3.8: pastes a short text into every visible text field through a real `paste`
/// event and reports each field that refused it (the event cancelled and nothing inserted).
/// A field the app fills itself on paste keeps the app's value only until the next typing;
/// the field's value is put back and announced with an `input` event, so the app's state
/// matches what the field shows.
pub async fn paste_refusals(browser: &Browser) -> Vec<String> {
    let found = browser
        .js(r#"
            const refused = [];
            const fields = Array.from(document.querySelectorAll('input, textarea'))
              .filter(el => !el.disabled && !el.readOnly && el.getClientRects().length > 0
                && !['checkbox', 'radio', 'submit', 'button', 'hidden'].includes(el.type));
            for (const el of fields) {
              const before = el.value;
              const data = new DataTransfer();
              data.setData('text/plain', '12');
              const event = new ClipboardEvent('paste', {
                clipboardData: data, bubbles: true, cancelable: true });
              const accepted = el.dispatchEvent(event);
              const filled = el.value !== before && el.value.includes('12');
              if (!accepted && !filled) refused.push(`paste-refused: #${el.id || el.name}`);
              if (el.value !== before) {
                el.value = before;
                el.dispatchEvent(new Event('input', { bubbles: true }));
              }
            }
            return refused;
        "#)
        .await;
    strings(&found)
}

/// The strings of a JSON array a page script returned (nothing for anything else).
fn strings(found: &Value) -> Vec<String> {
    found
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}
