//! Two `kmc-server serve` processes on one database, as replicas behind a
//! load balancer: every guarantee holds across them, not per process.
//!
//! On the PostgreSQL pass (`KMC_TEST_DATABASE_URL`) the replicas share a
//! fresh PostgreSQL database, each with its own data dir (its outbox) and
//! one shared `--secret-key-file`; on the SQLite pass they share one data
//! dir (and so its database file, as `serve` and the CLI do). Requests
//! alternate between the replicas; the setup runs through the CLI.

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use kaltura_api::{OtpAuthUri, codes};
use kmc_server::auth::totp;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_kmc-server");
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";
/// The server's default guess budget per login.
const MAX_ATTEMPTS: usize = 10;

/// Two replicas on one database, killed when dropped (by the harness).
struct Replicas {
    _base: tempfile::TempDir,
    /// Each replica's data dir (the same one twice on SQLite).
    dirs: [PathBuf; 2],
    /// Arguments every command takes (database, key file).
    common: Vec<String>,
    children: Vec<harness::Server>,
    addrs: Vec<String>,
}

fn db_url() -> Option<String> {
    std::env::var("KMC_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(kmc_server::store::test_database_url())
}

impl Replicas {
    /// Two replicas, and through the CLI: "Media" (2FA, id 100) and
    /// "Sandbox" (password only, id 101), with [`EMAIL`] in both.
    fn start() -> Self {
        let base = tempfile::tempdir().unwrap();
        let key = base.path().join("shared.key");
        let mut common = vec![
            "--secret-key-file".to_owned(),
            key.to_str().unwrap().to_owned(),
        ];
        let dirs = match db_url() {
            Some(url) => {
                common.extend(["--database-url".to_owned(), url]);
                [base.path().join("a"), base.path().join("b")]
            }
            None => [base.path().join("shared"), base.path().join("shared")],
        };
        let mut r = Self {
            _base: base,
            dirs,
            common,
            children: Vec::new(),
            addrs: Vec::new(),
        };
        assert_eq!(
            r.cli(&["partner", "add", "--name", "Media", "--two-factor"], None),
            "100\n"
        );
        assert_eq!(
            r.cli(&["partner", "add", "--name", "Sandbox"], None),
            "101\n"
        );
        r.add_user(100, EMAIL, Some(PASSWORD));
        r.add_user(101, EMAIL, None);
        for i in 0..2 {
            r.spawn(i);
        }
        r
    }

    fn base_args(&self, replica: usize) -> Vec<String> {
        let mut args = vec![
            "--data-dir".to_owned(),
            self.dirs[replica].to_str().unwrap().to_owned(),
        ];
        args.extend(self.common.iter().cloned());
        args
    }

    /// A CLI command against replica 0's data dir; its stdout.
    fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut child = Command::new(BIN)
            .args(self.base_args(0))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `user add` through the CLI: `email` in account `partner`, with
    /// `password` when the login is new.
    fn add_user(&self, partner: i64, email: &str, password: Option<&str>) {
        let partner = partner.to_string();
        let mut args = vec!["user", "add", "--partner", &partner, "--email", email];
        if password.is_some() {
            args.push("--password-stdin");
        }
        self.cli(&args, password);
    }

    fn spawn(&mut self, replica: usize) {
        let mut cmd = Command::new(BIN);
        cmd.args(self.base_args(replica))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--dist",
                "/nonexistent",
                "--public-url",
                "http://kmc.test",
                "--reveal-login-errors",
                "--max-hash-queue",
                "512",
                "--max-client-failures",
                "100000",
            ])
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null());
        let server = harness::start(cmd, None, Duration::from_secs(30)).unwrap();
        self.addrs.push(server.addr.to_string());
        self.children.push(server);
    }

    /// Stops both replicas as an operator would (SIGTERM) and waits for
    /// them to exit, which each does only after the work its replies
    /// promised (mail) is done.
    fn stop(&mut self) {
        for c in &self.children {
            let status = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        }
        for mut c in self.children.drain(..) {
            assert!(c.wait().unwrap().success());
        }
        self.addrs.clear();
    }

    /// One API call to replica `i % 2`.
    fn call(&self, i: usize, service: &str, action: &str, body: Value) -> Value {
        call(&self.addrs[i % 2], service, action, &body)
    }

    fn login(&self, i: usize, partner: i64, password: &str, otp: &str) -> Value {
        self.call(
            i,
            "user",
            "loginByLoginId",
            json!({"loginId": EMAIL, "password": password, "partnerId": partner, "otp": otp}),
        )
    }

    /// Every link to `path` in both replicas' outboxes.
    fn links(&self, path: &str) -> Vec<String> {
        let mut dirs: Vec<&Path> = self.dirs.iter().map(PathBuf::as_path).collect();
        dirs.dedup();
        let mut out = Vec::new();
        for dir in dirs {
            for text in common::eml_texts(&dir.join("outbox")) {
                for line in text.lines() {
                    if let Some(i) = line.find(path) {
                        out.push(line[i + path.len()..].trim().to_owned());
                    }
                }
            }
        }
        out
    }

    /// The login's secret, through its QR link used on replica 0; checks
    /// that the link is then spent on replica 1 as well.
    fn enrol(&self) -> Vec<u8> {
        let link = self.links("/actions/auth-info/").pop().expect("a QR link");
        let uri = self.call(0, "user", "generateQrCode", json!({ "hashKey": link }));
        let secret = OtpAuthUri::parse(uri.as_str().expect("an otpauth URI"))
            .unwrap()
            .secret_bytes()
            .unwrap();
        let again = self.call(1, "user", "generateQrCode", json!({ "hashKey": link }));
        assert_eq!(code_of(&again), Some(codes::INVALID_HASH), "{again}");
        secret
    }
}

/// POSTs JSON to one action over a fresh connection; the reply as JSON.
fn call(addr: &str, service: &str, action: &str, body: &Value) -> Value {
    let body = body.to_string();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "POST /api_v3/service/{service}/action/{action}?format=1 HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    let (_, json) = reply.split_once("\r\n\r\n").expect("an HTTP reply");
    serde_json::from_str(json).unwrap_or_else(|_| panic!("not JSON: {reply}"))
}

fn code_of(v: &Value) -> Option<&str> {
    (v["objectType"] == "KalturaAPIException").then(|| v["code"].as_str().unwrap())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `n` calls at once, each on its own thread and connection; the answers.
fn answers_in_parallel(n: usize, f: impl Fn(usize) -> Value + Sync) -> Vec<Value> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let f = &f;
                s.spawn(move || f(i))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// `n` calls at once, alternating between the replicas; the error codes.
fn in_parallel(n: usize, f: impl Fn(usize) -> Value + Sync) -> Vec<String> {
    answers_in_parallel(n, f)
        .iter()
        .map(|v| code_of(v).unwrap_or("ok").to_owned())
        .collect()
}

fn count(answers: &[String], code: &str) -> usize {
    answers.iter().filter(|a| *a == code).count()
}

#[test]
fn parallel_wrong_passwords_split_across_two_replicas_are_checked_at_most_the_limit() {
    let r = Replicas::start();
    let answers = in_parallel(3 * MAX_ATTEMPTS, |i| r.login(i, 101, "wrong guess", ""));
    let checked = count(&answers, codes::USER_WRONG_PASSWORD)
        + count(&answers, codes::LOGIN_RETRIES_EXCEEDED);
    assert_eq!(checked, MAX_ATTEMPTS, "{answers:?}");
    assert_eq!(
        count(&answers, codes::LOGIN_RETRIES_EXCEEDED),
        1,
        "{answers:?}"
    );
    assert_eq!(
        count(&answers, codes::LOGIN_BLOCKED),
        2 * MAX_ATTEMPTS,
        "{answers:?}"
    );
    // Blocked on both: even the right password.
    for i in 0..2 {
        assert_eq!(
            code_of(&r.login(i, 101, PASSWORD, "")),
            Some(codes::LOGIN_BLOCKED)
        );
    }
}

#[test]
fn parallel_wrong_codes_split_across_two_replicas_are_checked_at_most_the_limit() {
    let r = Replicas::start();
    let secret = r.enrol();
    let step = now() / totp::STEP;
    // A code that matches none of the steps the server accepts now.
    let wrong = (0..1000)
        .map(|n| format!("{n:06}"))
        .find(|c| (step - 2..=step + 2).all(|s| totp::code_at_step(&secret, s).as_ref() != Some(c)))
        .unwrap();
    let answers = in_parallel(3 * MAX_ATTEMPTS, |i| r.login(i, 100, PASSWORD, &wrong));
    let checked =
        count(&answers, codes::INVALID_OTP) + count(&answers, codes::LOGIN_RETRIES_EXCEEDED);
    assert_eq!(checked, MAX_ATTEMPTS, "{answers:?}");
    assert_eq!(
        count(&answers, codes::LOGIN_BLOCKED),
        2 * MAX_ATTEMPTS,
        "{answers:?}"
    );
    let right = totp::code_at_step(&secret, now() / totp::STEP).unwrap();
    for i in 0..2 {
        assert_eq!(
            code_of(&r.login(i, 100, PASSWORD, &right)),
            Some(codes::LOGIN_BLOCKED)
        );
    }
}

#[test]
fn a_code_accepted_on_one_replica_is_refused_on_the_other() {
    let r = Replicas::start();
    let secret = r.enrol();
    let code = totp::code_at_step(&secret, now() / totp::STEP).unwrap();
    let ks = r.login(0, 100, PASSWORD, &code);
    assert!(ks.is_string(), "{ks}");
    let replay = r.login(1, 100, PASSWORD, &code);
    assert_eq!(code_of(&replay), Some(codes::INVALID_OTP), "{replay}");
}

#[test]
fn one_right_code_sent_eight_times_at_once_across_both_replicas_signs_in_once() {
    let r = Replicas::start();
    let secret = r.enrol();
    let code = totp::code_at_step(&secret, now() / totp::STEP).unwrap();
    // Fewer than the guess budget, so every refusal is the replay itself.
    let answers = in_parallel(MAX_ATTEMPTS - 2, |i| r.login(i, 100, PASSWORD, &code));
    assert_eq!(count(&answers, "ok"), 1, "{answers:?}");
    assert_eq!(
        count(&answers, codes::INVALID_OTP),
        MAX_ATTEMPTS - 3,
        "{answers:?}"
    );
}

#[test]
fn a_ks_made_on_one_replica_works_on_the_other_and_after_session_end_there_on_neither() {
    let r = Replicas::start();
    let ks = r.login(0, 101, PASSWORD, "");
    assert!(ks.is_string(), "{ks}");
    let user = r.call(1, "user", "get", json!({ "ks": ks }));
    assert_eq!(user["id"], EMAIL, "{user}");
    let end = r.call(1, "session", "end", json!({ "ks": ks }));
    assert!(code_of(&end).is_none(), "{end}");
    for i in 0..2 {
        let v = r.call(i, "user", "get", json!({ "ks": ks }));
        assert_eq!(code_of(&v), Some(codes::INVALID_KS), "{v}");
    }
}

#[test]
fn logins_signing_in_at_once_across_both_replicas_each_get_a_session_that_works_on_both() {
    let r = Replicas::start();
    let emails: Vec<String> = (0..24).map(|i| format!("user{i}@example.com")).collect();
    for email in &emails {
        r.add_user(101, email, Some(PASSWORD));
    }
    // For each login, the right password on one replica and a wrong one on
    // the other, all at once: successes (each replica's unsynced
    // connection) and failures (its synced pool) write one database from
    // two processes together.
    let n = emails.len();
    let answers = answers_in_parallel(2 * n, |i| {
        let (login, wrong) = (i % n, i >= n);
        let password = if wrong { "a wrong guess" } else { PASSWORD };
        let body = json!({"loginId": emails[login], "password": password, "partnerId": 101});
        r.call(login + usize::from(wrong), "user", "loginByLoginId", body)
    });
    let (right, wrong) = answers.split_at(n);
    for (i, (ks, email)) in right.iter().zip(&emails).enumerate() {
        assert!(ks.is_string(), "{email}: {ks}");
        let user = r.call(i + 1, "user", "get", json!({ "ks": ks }));
        assert_eq!(user["id"], email.as_str(), "{user}");
    }
    for v in wrong {
        assert_eq!(code_of(v), Some(codes::USER_WRONG_PASSWORD), "{v}");
    }
}

/// The reset links in the outboxes once the replicas have stopped: a
/// replica sends the mail promised in its replies before it exits, so none
/// is still on its way. The replicas start again on the same database.
fn reset_links_after_a_restart(r: &mut Replicas) -> Vec<String> {
    r.stop();
    let links = r.links("/actions/restore-password/");
    for i in 0..2 {
        r.spawn(i);
    }
    links
}

#[test]
fn a_reset_link_used_on_one_replica_is_spent_on_both() {
    let mut r = Replicas::start();
    let before = r.links("/actions/restore-password/").len();
    let v = r.call(1, "user", "resetPassword", json!({ "email": EMAIL }));
    assert!(v.is_null(), "{v}");
    let mut links = reset_links_after_a_restart(&mut r);
    assert_eq!(links.len(), before + 1);
    let link = links.pop().unwrap();
    let set = |i, pw: &str| {
        r.call(
            i,
            "user",
            "setInitialPassword",
            json!({"hashKey": link, "newPassword": pw}),
        )
    };
    let first = set(0, "a brand new passphrase");
    assert!(code_of(&first).is_none(), "{first}");
    let second = set(1, "another new passphrase");
    assert_eq!(
        code_of(&second),
        Some(codes::NEW_PASSWORD_HASH_KEY_INVALID),
        "{second}"
    );
}

#[test]
fn the_reset_limits_hold_across_both_replicas() {
    let mut r = Replicas::start();
    r.add_user(101, "bob@example.com", None);
    let before = r.links("/actions/restore-password/").len();
    // Per email: 10 per window, however the requests are spread.
    let sent = in_parallel(14, |i| {
        r.call(i, "user", "resetPassword", json!({ "email": EMAIL }))
    });
    assert!(sent.iter().all(|a| a == "ok"), "{sent:?}");
    assert_eq!(reset_links_after_a_restart(&mut r).len(), before + 10);
    // Per client: 100 per window; 10 are used, 90 more fill it.
    let sent = in_parallel(90, |i| {
        r.call(
            i,
            "user",
            "resetPassword",
            json!({ "email": format!("nobody{i}@example.com") }),
        )
    });
    assert!(sent.iter().all(|a| a == "ok"), "{sent:?}");
    for i in 0..2 {
        let v = r.call(
            i,
            "user",
            "resetPassword",
            json!({"email": "bob@example.com"}),
        );
        assert!(v.is_null(), "{v}");
    }
    assert_eq!(reset_links_after_a_restart(&mut r).len(), before + 10);
}
