//! Headless Chromium through a chromedriver started for one test, and the
//! wait-until helpers the tests read like a user's steps.
//!
//! Leptos updates the DOM asynchronously and every page talks to the server,
//! so nothing is read once: each helper polls until its condition holds or a
//! timeout passes, then fails with the page's path and the `data-testid`s it
//! shows (never its text, which may hold a secret on the enrollment page).

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tempfile::TempDir;

/// The flags of every Chromium the project starts: the e2e browser, the bench's page loads and
/// Lighthouse, and the wasm-bindgen browser tests (`webdriver.json` at the workspace root holds
/// the same list; a test below keeps it so). Headless, and off every network but loopback: the
/// machines that run them have no other, and Chromium stalls on refused connections.
pub const CHROMIUM_FLAGS: [&str; 10] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
];

/// How long a step may take before the test fails (generous: a loaded
/// 2-core machine may take many seconds to compile the wasm on first load).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// The phone [`Browser::emulate_phone`] makes: width and height in CSS pixels.
pub const PHONE: (u32, u32) = (390, 844);

/// How often conditions are polled.
const POLL: Duration = Duration::from_millis(100);

/// One browser session; chromedriver (and with it Chromium) ends on Drop.
pub struct Browser {
    /// The WebDriver client, for anything the helpers do not cover.
    pub client: Client,
    driver: Child,
    port: u16,
    session_id: Option<String>,
    _profile: TempDir,
}

fn binary(env: &str, default: &str, install_hint: &str) -> PathBuf {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.is_file(),
        "{} not found (set {env} or {install_hint})",
        path.display()
    );
    path
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a fresh headless
    /// Chromium profile with the network locked to 127.0.0.1.
    pub async fn start() -> Browser {
        Self::start_in(None).await
    }

    /// As [`Browser::start`], with the browser's language set to `lang` (a
    /// BCP 47 tag): `--lang` and the `intl.accept_languages` preference, which
    /// `navigator.languages` reports.
    pub async fn start_with_language(lang: &str) -> Browser {
        Self::start_in(Some(lang)).await
    }

    async fn start_in(lang: Option<&str>) -> Browser {
        let hint = "apt-get install -y --no-install-recommends chromium chromium-driver";
        let driver_bin = binary("CHROMEDRIVER", "/usr/bin/chromedriver", hint);
        let chromium = binary("CHROMIUM", "/usr/bin/chromium", hint);
        let profile = tempfile::Builder::new()
            .prefix("kmc-e2e-chromium-")
            .tempdir()
            .expect("a profile directory");

        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver_bin.display()));
        let deadline = Instant::now() + STEP_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port}"
            );
            tokio::time::sleep(POLL).await;
        }

        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.extend([
            "--window-size=1280,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ]);
        let mut options = json!({ "binary": chromium });
        if let Some(lang) = lang {
            args.push(format!("--lang={lang}"));
            options["prefs"] = json!({ "intl.accept_languages": lang });
        }
        options["args"] = json!(args);
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        // Keep the console, so a failure can say why a page stayed blank.
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(caps);
        let mut browser = Browser {
            client: match builder.connect(&format!("http://127.0.0.1:{port}")).await {
                Ok(c) => c,
                Err(e) => panic!("chromedriver refused a Chromium session: {e}"),
            },
            driver,
            port,
            session_id: None,
            _profile: profile,
        };
        browser.session_id = browser.client.session_id().await.ok().flatten();
        browser
    }

    /// Opens a URL and waits for the document to load.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// Reloads the page.
    pub async fn reload(&self) {
        self.client.refresh().await.expect("reload");
    }

    /// The current URL's path.
    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.path().to_owned())
            .unwrap_or_default()
    }

    /// The full current URL.
    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// Runs a script and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    /// What the page shows, for failure messages: its path and its `data-testid`s.
    pub async fn describe(&self) -> String {
        let ids = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll('[data-testid]'))\
                 .map(e => e.getAttribute('data-testid')).join(', ')",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let errors = self.console_errors().await;
        let mut out = format!("page {} showing [{ids}]", self.path().await);
        if !errors.is_empty() {
            out.push_str("; console:\n");
            for e in errors.iter().rev().take(8).rev() {
                out.push_str(&e.chars().take(400).collect::<String>());
                out.push('\n');
            }
        }
        out
    }

    /// Blocks the app's module (the wasm, plain or precompressed) for the rest of this
    /// browser's life: only the first HTML speaks.
    pub async fn block_the_module(&self) {
        self.cdp("Network.enable", json!({})).await;
        self.cdp(
            "Network.setBlockedURLs",
            json!({ "urls": ["*.wasm", "*.wasm.br", "*.wasm.gz"] }),
        )
        .await;
    }

    /// Makes this browser a phone held upright, for the rest of its life: a 390 x 844
    /// CSS-pixel screen (two device pixels each) with touch as its only pointer, so
    /// `(pointer: coarse)` matches and the page lays itself out as on a phone.
    pub async fn emulate_phone(&self) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": PHONE.0, "height": PHONE.1, "deviceScaleFactor": 2, "mobile": true }),
        )
        .await;
        self.cdp(
            "Emulation.setTouchEmulationEnabled",
            json!({ "enabled": true, "maxTouchPoints": 5 }),
        )
        .await;
    }

    /// Makes this browser's network slower for the rest of its life: `latency_ms` added to
    /// every request and reply (so what a person does while a request is in flight can be
    /// tested without racing it), and downloads limited to `bytes_per_second` (`None`: no
    /// limit, as again after a limit).
    pub async fn emulate_network(&self, latency_ms: u32, bytes_per_second: Option<u32>) {
        self.cdp("Network.enable", json!({})).await;
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({
                "offline": false,
                "latency": latency_ms,
                "downloadThroughput": bytes_per_second.map_or(-1.0, f64::from),
                "uploadThroughput": -1,
            }),
        )
        .await;
    }

    /// The text a person sees in the static shell of `index.html` (`innerText` skips what is
    /// hidden); empty once the app has taken over.
    pub async fn shell_text(&self) -> String {
        self.js("var b = document.getElementById('boot'); return b ? b.innerText : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Sends one Chrome DevTools Protocol command through chromedriver (e.g. network
    /// throttling) and returns its result.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let id = self.session_id.as_deref().expect("a WebDriver session");
        let url = format!(
            "http://127.0.0.1:{}/session/{id}/goog/cdp/execute",
            self.port
        );
        let response = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("an HTTP client")
            .post(url)
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"));
        let ok = response.status().is_success();
        let body: Value = response.json().await.unwrap_or_default();
        assert!(ok, "CDP {cmd} failed: {body}");
        body["value"].clone()
    }

    /// The browser console's messages (all but debug) since the last call (chromedriver's log
    /// endpoint drains them), e.g. a wasm panic behind a blank page.
    pub async fn console_errors(&self) -> Vec<String> {
        let Some(id) = &self.session_id else {
            return Vec::new();
        };
        let url = format!("http://127.0.0.1:{}/session/{id}/se/log", self.port);
        let Ok(client) = reqwest::Client::builder().no_proxy().build() else {
            return Vec::new();
        };
        let Ok(response) = client
            .post(url)
            .header("Content-Type", "application/json")
            .body(r#"{"type":"browser"}"#)
            .send()
            .await
        else {
            return Vec::new();
        };
        let Ok(body) = response.json::<Value>().await else {
            return Vec::new();
        };
        body["value"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["level"] != "DEBUG")
                    .filter_map(|e| e["message"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Polls `probe` until it yields a value; fails after [`STEP_TIMEOUT`]
    /// naming `what` and describing the page.
    pub async fn wait_until<T, F, Fut>(&self, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            if let Some(v) = probe().await {
                return v;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {STEP_TIMEOUT:?} waiting for {what}; {}",
                    self.describe().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The element with this `data-testid`, if present.
    pub async fn find_testid(&self, testid: &str) -> Option<Element> {
        self.client
            .find(Locator::Css(&format!("[data-testid=\"{testid}\"]")))
            .await
            .ok()
    }

    /// The element with this id, if present.
    pub async fn find_id(&self, id: &str) -> Option<Element> {
        self.client.find(Locator::Id(id)).await.ok()
    }

    async fn displayed(el: Option<Element>) -> Option<Element> {
        let el = el?;
        el.is_displayed().await.ok()?.then_some(el)
    }

    /// Waits for a visible element with this `data-testid`.
    pub async fn wait_testid(&self, testid: &str) -> Element {
        self.wait_until(&format!("[data-testid={testid}] to be visible"), || async {
            Self::displayed(self.find_testid(testid).await).await
        })
        .await
    }

    /// Waits for a visible element with this id.
    pub async fn wait_id(&self, id: &str) -> Element {
        self.wait_until(&format!("#{id} to be visible"), || async {
            Self::displayed(self.find_id(id).await).await
        })
        .await
    }

    /// Whether a visible element with this `data-testid` is on the page now.
    pub async fn shows_testid(&self, testid: &str) -> bool {
        Self::displayed(self.find_testid(testid).await)
            .await
            .is_some()
    }

    /// Waits until the element with this `data-testid` shows text containing
    /// `needle`; returns its whole text.
    pub async fn wait_text(&self, testid: &str, needle: &str) -> String {
        self.wait_until(
            &format!("[data-testid={testid}] to say {needle:?}"),
            || async {
                let el = Self::displayed(self.find_testid(testid).await).await?;
                let text = el.text().await.ok()?;
                text.contains(needle).then_some(text)
            },
        )
        .await
    }

    /// Waits until the element with this `data-testid` shows any non-empty text.
    pub async fn wait_any_text(&self, testid: &str) -> String {
        self.wait_until(&format!("[data-testid={testid}] to show text"), || async {
            let el = Self::displayed(self.find_testid(testid).await).await?;
            let text = el.text().await.ok()?;
            (!text.trim().is_empty()).then_some(text)
        })
        .await
    }

    /// Waits until the address bar's path is `path`.
    pub async fn wait_path(&self, path: &str) {
        self.wait_until(&format!("the path to become {path}"), || async {
            (self.path().await == path).then_some(())
        })
        .await
    }

    /// Waits until the element with this id is visible and enabled.
    pub async fn wait_enabled_id(&self, id: &str) -> Element {
        self.wait_until(&format!("#{id} to be enabled"), || async {
            let el = Self::displayed(self.find_id(id).await).await?;
            el.is_enabled().await.ok()?.then_some(el)
        })
        .await
    }

    /// Replaces the value of the input with this id by typing `text`.
    pub async fn fill(&self, id: &str, text: &str) {
        let el = self.wait_enabled_id(id).await;
        el.clear()
            .await
            .unwrap_or_else(|e| panic!("cannot clear #{id}: {e}"));
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("cannot type into #{id}: {e}"));
    }

    /// The current value of the input with this id.
    pub async fn value(&self, id: &str) -> String {
        match self.find_id(id).await {
            Some(el) => el.prop("value").await.ok().flatten().unwrap_or_default(),
            None => String::new(),
        }
    }

    /// Clicks the element with this `data-testid` once it is visible and enabled.
    pub async fn click_testid(&self, testid: &str) {
        self.wait_until(
            &format!("[data-testid={testid}] to be clickable"),
            || async {
                let el = Self::displayed(self.find_testid(testid).await).await?;
                if !el.is_enabled().await.ok()? {
                    return None;
                }
                el.click().await.ok()
            },
        )
        .await
    }

    /// Whether the element with this `data-testid` has the CSS class `class`.
    pub async fn has_class(&self, testid: &str, class: &str) -> bool {
        let Some(el) = self.find_testid(testid).await else {
            return false;
        };
        el.attr("class")
            .await
            .ok()
            .flatten()
            .is_some_and(|c| c.split_whitespace().any(|x| x == class))
    }

    /// The id of `document.activeElement` (empty when none).
    pub async fn focused_id(&self) -> String {
        self.js("return document.activeElement ? document.activeElement.id : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A `sessionStorage` entry.
    pub async fn session_storage(&self, key: &str) -> Option<String> {
        self.client
            .execute(
                "return window.sessionStorage.getItem(arguments[0])",
                vec![json!(key)],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
    }

    /// A screenshot of the viewport, as PNG bytes.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client.screenshot().await.expect("a screenshot")
    }

    /// A screenshot of the element with this `data-testid`, as PNG bytes.
    pub async fn screenshot_testid(&self, testid: &str) -> Vec<u8> {
        let el = self.wait_testid(testid).await;
        el.screenshot()
            .await
            .unwrap_or_else(|e| panic!("cannot screenshot [data-testid={testid}]: {e}"))
    }

    /// Ends the WebDriver session (Chromium exits) and then chromedriver.
    pub async fn close(mut self) {
        if self.session_id.take().is_some() {
            let _ = self.client.clone().close().await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Drop cannot await: end the session with a plain HTTP request, so
        // Chromium exits even when a test panicked, then stop chromedriver.
        if let Some(id) = self.session_id.take()
            && let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port))
        {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = write!(
                stream,
                "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                self.port
            );
            let _ = std::io::Read::read(&mut stream, &mut [0u8; 512]);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_tests_webdriver_json_holds_the_one_flag_list() {
        let path = crate::workspace_root().join("webdriver.json");
        let text = std::fs::read_to_string(&path).expect("webdriver.json at the workspace root");
        let json: Value = serde_json::from_str(&text).expect("webdriver.json is JSON");
        let args: Vec<&str> = json["goog:chromeOptions"]["args"]
            .as_array()
            .expect("goog:chromeOptions.args is a list")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(args, CHROMIUM_FLAGS);
    }
}
