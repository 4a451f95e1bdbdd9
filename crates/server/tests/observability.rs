//! `kmc-server serve` as operators watch it: the Prometheus metrics on their
//! own listener (`--metrics-listen`) and the JSON audit log
//! (`--log-format json`), each checked after one scripted run of the real
//! binary: the counts are exact, every audit event is one JSON line with
//! the documented fields, and no secret of the run is in the log.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::cli::{BIN, db_args, now_step, run_ok};
use common::{PASSWORD, eml_texts, http};
use kaltura_api::OtpAuthUri;
use kmc_server::auth::totp;
use serde_json::{Value, json};

const EMAIL: &str = "ada@example.com";
/// "Media": two-factor. "Sandbox": password only.
const MEDIA: i64 = 100;
const SANDBOX: i64 = 101;
const QR_PATH: &str = "/actions/auth-info/";
const RESET_PATH: &str = "/actions/restore-password/";

/// A data dir (and on the PostgreSQL pass a fresh database) with "Media"
/// and "Sandbox", [`EMAIL`] in both, set up through the CLI; and `serve`
/// on it with its stderr in `log`.
struct Run {
    dir: tempfile::TempDir,
    server: harness::Server,
    log: PathBuf,
}

impl Run {
    fn start(serve_args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = db_args(&["--data-dir", dir.path().to_str().unwrap()]);
        let data_dir = dir.path().to_str().unwrap();
        let run = |args: &[&str], stdin: Option<&str>| run_ok(data_dir, args, stdin);
        assert_eq!(
            run(&["partner", "add", "--name", "Media", "--two-factor"], None).0,
            "100\n"
        );
        assert_eq!(
            run(&["partner", "add", "--name", "Sandbox"], None).0,
            "101\n"
        );
        let email = ["--email", EMAIL];
        run(
            &[
                &["user", "add", "--partner", "100", "--password-stdin"][..],
                &email,
            ]
            .concat(),
            Some(PASSWORD),
        );
        run(
            &[&["user", "add", "--partner", "101"][..], &email].concat(),
            None,
        );
        let log = dir.path().join("serve.log");
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir")
            .arg(dir.path())
            .args(&db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(serve_args)
            .stderr(std::fs::File::create(&log).unwrap());
        let server = harness::start(cmd, None, Duration::from_secs(30)).unwrap();
        Self { dir, server, log }
    }

    /// `kmc-server <args>` on this data dir: stdout and stderr.
    fn cli(&self, args: &[&str]) -> (String, String) {
        run_ok(self.dir.path().to_str().unwrap(), args, None)
    }

    /// One API call to the public listener.
    fn call(&self, service: &str, action: &str, body: Value) -> Value {
        let path = format!("/api_v3/service/{service}/action/{action}?format=1");
        let (_, reply) = http(self.server.addr, "POST", &path, Some(&body));
        serde_json::from_str(&reply).unwrap_or_else(|_| panic!("not JSON: {reply}"))
    }

    fn login(&self, email: &str, password: &str, partner: i64, otp: &str) -> Value {
        let body =
            json!({"loginId": email, "password": password, "partnerId": partner, "otp": otp});
        self.call("user", "loginByLoginId", body)
    }

    fn outbox(&self) -> Vec<String> {
        eml_texts(&self.dir.path().join("outbox"))
    }

    /// The tokens of the links to `path` in the outbox, oldest first.
    fn links(&self, path: &str) -> Vec<String> {
        let texts = self.outbox();
        let lines = texts.iter().flat_map(|t| t.lines());
        lines
            .filter_map(|l| Some(l[l.find(path)? + path.len()..].trim().to_owned()))
            .collect()
    }

    /// Waits (up to 20 s) until the outbox holds `n` messages.
    fn wait_outbox(&self, n: usize) {
        wait_until(|| self.outbox().len() >= n, "the outbox to fill");
    }

    fn metrics_addr(&self) -> SocketAddr {
        self.server.metrics_addr().expect("a metrics listener")
    }
}

fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "waited 20 s for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A six-digit code no step near now accepts for `secret`.
fn wrong_code(secret: &[u8]) -> String {
    let step = now_step();
    let valid: Vec<_> = (step - 2..=step + 2)
        .filter_map(|s| totp::code_at_step(secret, s))
        .collect();
    // Not a run of zeros: a code is searched for in the log, whose
    // timestamps have runs of digits.
    (0..)
        .map(|n| format!("{:06}", 314_159 + n))
        .find(|c| !valid.contains(c))
        .unwrap()
}

/// The scripted run: every sign-in outcome a person can cause, an
/// enrollment, a logout, a reset through the mailed link and a password
/// change on the account page. Returns every secret it used or received.
fn script(run: &Run) -> Vec<String> {
    let mut secrets = vec![PASSWORD.to_owned()];
    let qr = run.links(QR_PATH).pop().expect("a QR link from `user add`");
    let uri = run.call("user", "generateQrCode", json!({"hashKey": qr}));
    let uri = uri.as_str().unwrap().to_owned();
    let key = OtpAuthUri::parse(&uri).unwrap();
    let secret = key.secret_bytes().unwrap();
    secrets.extend([qr.clone(), uri.clone(), key.secret.clone()]);
    let again = run.call("user", "generateQrCode", json!({"hashKey": qr}));
    assert_eq!(again["code"], "INVALID_HASH", "{again}");

    let wrong_password = "not the password at all";
    secrets.push(wrong_password.into());
    let v = run.login(EMAIL, wrong_password, MEDIA, "");
    assert_eq!(v["code"], "USER_WRONG_PASSWORD", "{v}");
    let v = run.login(EMAIL, PASSWORD, MEDIA, "");
    assert_eq!(v["code"], "MISSING_OTP", "{v}");
    let bad = wrong_code(&secret);
    let v = run.login(EMAIL, PASSWORD, MEDIA, &bad);
    assert_eq!(v["code"], "INVALID_OTP", "{v}");
    let step = now_step();
    let code = totp::code_at_step(&secret, step).unwrap();
    let ks = run.login(EMAIL, PASSWORD, MEDIA, &code);
    let ks = ks
        .as_str()
        .unwrap_or_else(|| panic!("no KS: {ks}"))
        .to_owned();
    let replay = run.login(EMAIL, PASSWORD, MEDIA, &code);
    assert_eq!(replay["code"], "INVALID_OTP", "{replay}");
    let v = run.login("nobody@example.com", PASSWORD, MEDIA, "");
    assert_eq!(v["code"], "USER_WRONG_PASSWORD", "{v}");
    secrets.extend([bad, code, ks.clone()]);
    assert!(run.call("session", "end", json!({"ks": ks})).is_null());
    let ks2 = run.login(EMAIL, PASSWORD, SANDBOX, "");
    secrets.push(
        ks2.as_str()
            .unwrap_or_else(|| panic!("no KS: {ks2}"))
            .into(),
    );

    let mails = run.outbox().len();
    assert!(
        run.call("user", "resetPassword", json!({"email": EMAIL}))
            .is_null()
    );
    run.wait_outbox(mails + 1);
    let reset = run.links(RESET_PATH).pop().expect("a reset link");
    let new_password = "a brand new passphrase";
    let body = json!({"hashKey": reset, "newPassword": new_password});
    let set = run.call("user", "setInitialPassword", body);
    let new_uri = set["qrCode"].as_str().unwrap_or_else(|| panic!("{set}"));
    let new_key = OtpAuthUri::parse(new_uri).unwrap();
    // The next step: the one above was used, and is still in the window.
    let new_code = totp::code_at_step(&new_key.secret_bytes().unwrap(), step + 1).unwrap();
    let newer = "an even newer passphrase";
    let body = json!({"email": EMAIL, "password": new_password, "newEmail": "",
        "newPassword": newer, "otp": new_code});
    let changed = run.call("adminUser", "updatePassword", body);
    assert_eq!(changed["objectType"], "KalturaAdminUser", "{changed}");
    secrets.extend([
        reset,
        new_password.into(),
        new_uri.into(),
        new_key.secret.clone(),
    ]);
    secrets.extend([new_code, newer.into()]);

    let v = run.call("user", "noSuchAction", json!({}));
    assert_eq!(v["code"], "ACTION_DOES_NOT_EXISTS", "{v}");
    secrets
}

/// The value of one series (name and labels exactly as rendered).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn scrape(addr: SocketAddr) -> String {
    let (status, body) = http(addr, "GET", "/metrics", None);
    assert_eq!(status, 200, "{body}");
    body
}

#[test]
fn a_scripted_run_is_counted_exactly_in_the_metrics_with_no_personal_label() {
    let run = Run::start(&["--dist", "/nonexistent", "--metrics-listen", "127.0.0.1:0"]);
    let secrets = script(&run);
    let addr = run.metrics_addr();
    // Four mails go out after their replies: the authenticator notice (the QR
    // link used), the reset link, the new-key notice (the reset on a 2FA
    // login) and the password-changed notice (the account page).
    let sent = r#"kmc_mails_total{outcome="sent"}"#;
    wait_until(
        || sample(&scrape(addr), sent) == Some(4.0),
        "four mails counted",
    );
    let m = scrape(addr);
    let expected = [
        (r#"kmc_signins_total{outcome="signed_in"}"#, 2),
        (r#"kmc_signins_total{outcome="wrong_password"}"#, 1),
        (r#"kmc_signins_total{outcome="wrong_code"}"#, 2),
        (r#"kmc_signins_total{outcome="code_needed"}"#, 1),
        (r#"kmc_signins_total{outcome="unknown_login"}"#, 1),
        (r#"kmc_signins_total{outcome="blocked"}"#, 0),
        (r#"kmc_signins_total{outcome="busy"}"#, 0),
        (r#"kmc_signins_total{outcome="throttled"}"#, 0),
        (r#"kmc_signins_total{outcome="password_expired"}"#, 0),
        (r#"kmc_signins_total{outcome="other"}"#, 0),
        ("kmc_code_replays_refused_total", 1),
        ("kmc_logins_blocked_total", 0),
        (r#"kmc_links_used_total{kind="enroll"}"#, 1),
        (r#"kmc_links_used_total{kind="reset"}"#, 1),
        (r#"kmc_links_refused_total{kind="enroll"}"#, 1),
        (r#"kmc_links_refused_total{kind="reset"}"#, 0),
        (r#"kmc_reset_requests_total{outcome="accepted"}"#, 1),
        (r#"kmc_reset_requests_total{outcome="rate_limited"}"#, 0),
        (r#"kmc_mails_total{outcome="sent"}"#, 4),
        (r#"kmc_mails_total{outcome="failed"}"#, 0),
        ("kmc_sessions_opened_total", 2),
        ("kmc_sessions_ended_total", 1),
        (
            r#"kmc_request_duration_seconds_count{action="user.loginByLoginId"}"#,
            7,
        ),
        (
            r#"kmc_request_duration_seconds_count{action="user.generateQrCode"}"#,
            2,
        ),
        (
            r#"kmc_request_duration_seconds_count{action="session.end"}"#,
            1,
        ),
        (r#"kmc_request_duration_seconds_count{action="unknown"}"#, 1),
        ("kmc_hash_queue_depth", 0),
    ];
    for (series, count) in expected {
        assert_eq!(sample(&m, series), Some(f64::from(count)), "{series}\n{m}");
    }
    // Every password check waited for a hashing thread once: seven sign-ins,
    // the new password's history check and hash, the change's check,
    // history and hash.
    let hashes = sample(&m, "kmc_hash_queue_wait_seconds_count").unwrap();
    assert!(hashes >= 7.0, "{m}");
    let in_use = sample(&m, r#"kmc_db_connections{state="in_use"}"#).unwrap();
    let max = sample(&m, "kmc_db_connections_max").unwrap();
    assert!(in_use >= 0.0 && max >= 1.0, "{m}");
    assert!(
        m.contains("# TYPE kmc_request_duration_seconds histogram"),
        "{m}"
    );
    // No label holds an email, an address or anything the run sent.
    for personal in [EMAIL, "nobody@example.com", "127.0.0.1", "noSuchAction"] {
        assert!(!m.contains(personal), "{personal} in the metrics:\n{m}");
    }
    // (Codes are left out: six digits may well occur among the values.)
    for s in secrets
        .iter()
        .filter(|s| !s.chars().all(|c| c.is_ascii_digit()))
    {
        assert!(!m.contains(s.as_str()), "a secret in the metrics: {s}");
    }
}

#[test]
fn the_public_listener_serves_no_metrics() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), "<html>app</html>").unwrap();
    let dist = dist.path().to_str().unwrap();
    let run = Run::start(&["--dist", dist, "--metrics-listen", "127.0.0.1:0"]);
    assert_ne!(run.metrics_addr(), run.server.addr);
    assert!(scrape(run.metrics_addr()).contains("kmc_signins_total"));
    for path in ["/metrics", "/api_v3/metrics", "/metrics/"] {
        let (_, body) = http(run.server.addr, "GET", path, None);
        assert!(
            !body.contains("kmc_"),
            "{path} on the public listener: {body}"
        );
    }
    // And the metrics listener serves nothing of the public one.
    let (status, _) = http(run.metrics_addr(), "GET", "/healthz", None);
    assert_eq!(status, 404);
}

/// The log's lines, each parsed as JSON (a line that is not fails the test).
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The audit records of `event`.
fn events<'a>(lines: &'a [Value], event: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["target"] == "audit" && l["event"] == event)
        .collect()
}

#[test]
fn a_scripted_run_writes_each_audit_event_as_one_json_line_and_no_secret() {
    let run = Run::start(&["--dist", "/nonexistent", "--log-format", "json"]);
    let secrets = script(&run);
    let (_, on) = run.cli(&[
        "--log-format",
        "json",
        "partner",
        "set-2fa",
        "--partner",
        "101",
        "on",
    ]);
    let (_, off) = run.cli(&[
        "--log-format",
        "json",
        "partner",
        "set-2fa",
        "--partner",
        "101",
        "off",
    ]);
    let text = std::fs::read_to_string(&run.log).unwrap();
    let lines = json_lines(&text);
    // A command's stderr also holds its summary for the operator, in words.
    let cli_log = [on, off].map(|t| {
        t.lines()
            .filter(|l| l.starts_with('{'))
            .collect::<Vec<_>>()
            .join("\n")
    });
    let cli_lines: Vec<Value> = cli_log.iter().flat_map(|t| json_lines(t)).collect();

    let one = |event: &str| -> Value {
        let found = events(&lines, event);
        assert_eq!(found.len(), 1, "{event}: {found:?}");
        found[0].clone()
    };
    let client = json!("127.0.0.1");
    let login_id = events(&lines, "signin.succeeded")[0]["login_id"].clone();
    assert!(login_id.is_i64(), "{login_id}");
    let failed = events(&lines, "signin.failed");
    let reasons: Vec<_> = failed
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "wrong_password",
            "code_needed",
            "wrong_code",
            "wrong_code",
            "unknown_login"
        ]
    );
    for e in &failed[..4] {
        assert_eq!(
            (&e["login_id"], &e["client"], &e["level"]),
            (&login_id, &client, &json!("INFO"))
        );
    }
    assert!(
        failed[4].get("login_id").is_none(),
        "an unknown email names no login"
    );
    assert_eq!(events(&lines, "signin.succeeded").len(), 2);
    for e in events(&lines, "signin.succeeded") {
        assert_eq!((&e["login_id"], &e["client"]), (&login_id, &client));
    }
    assert_eq!(one("code.replay_refused")["login_id"], login_id);
    let ended = one("session.ended");
    assert_eq!((&ended["login_id"], &ended["client"]), (&login_id, &client));
    let used: Vec<_> = events(&lines, "link.used")
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(used, [json!("enroll"), json!("reset")]);
    let refused = one("link.refused");
    assert_eq!(
        (&refused["kind"], &refused["reason"]),
        (&json!("enroll"), &json!("invalid"))
    );
    let issued = one("link.issued");
    assert_eq!(
        (&issued["kind"], &issued["login_id"]),
        (&json!("reset"), &login_id)
    );
    let enrolled: Vec<_> = events(&lines, "authenticator.enrolled");
    let how: Vec<_> = enrolled.iter().map(|e| e["kind"].clone()).collect();
    assert_eq!(how, [json!("qr_link"), json!("reset_link")]);
    let changed: Vec<_> = events(&lines, "password.changed");
    let kinds: Vec<_> = changed.iter().map(|e| e["kind"].clone()).collect();
    assert_eq!(kinds, [json!("reset_link"), json!("account_page")]);
    assert!(
        changed
            .iter()
            .all(|e| e["login_id"] == login_id && e["client"] == client)
    );
    let twofa: Vec<_> = cli_lines
        .iter()
        .filter(|l| l["target"] == "audit")
        .map(|l| (l["event"].clone(), l["partner_id"].clone(), l["by"].clone()))
        .filter(|(e, ..)| e.as_str().is_some_and(|e| e.starts_with("twofa.")))
        .collect();
    assert_eq!(
        twofa,
        [
            (json!("twofa.enabled"), json!(SANDBOX), json!("cli")),
            (json!("twofa.disabled"), json!(SANDBOX), json!("cli"))
        ]
    );
    let audit = lines
        .iter()
        .chain(&cli_lines)
        .filter(|l| l["target"] == "audit");
    for record in audit {
        assert!(record.get("message").is_none(), "{record}");
    }

    let whole = format!(
        "{text}{}",
        cli_lines.iter().map(Value::to_string).collect::<String>()
    );
    assert!(whole.contains("signin.succeeded"), "the capture works");
    assert!(!whole.contains(EMAIL), "an email in the log");
    for s in &secrets {
        assert!(
            !whole.contains(s.as_str()),
            "a secret in the log: {s}\n{whole}"
        );
    }
    assert!(!whole.contains("otpauth"), "an otpauth URI in the log");
}
