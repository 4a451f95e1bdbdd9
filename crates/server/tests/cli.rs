//! The `kmc-server` binary as operators and the other tools script it:
//! `partner add` prints the id alone, `user add` writes mail to the outbox,
//! `serve` prints its address (and the demo login) and answers over HTTP.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kmc-server");

/// On the PostgreSQL pass (`KMC_TEST_DATABASE_URL`): `--database-url` of a
/// fresh database per data dir named in `args`, the same one for every
/// command on that data dir. Otherwise nothing (SQLite in the data dir).
fn db_args(args: &[&str]) -> Vec<String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static DATABASES: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    if std::env::var("KMC_TEST_DATABASE_URL").map_or(true, |u| u.trim().is_empty()) {
        return Vec::new();
    }
    let Some(dir) = args
        .windows(2)
        .find(|w| w[0] == "--data-dir")
        .map(|w| w[1].to_owned())
    else {
        return Vec::new();
    };
    let mut dbs = DATABASES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let url = dbs.entry(dir).or_insert_with(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(kmc_server::store::test_database_url())
            .unwrap()
    });
    vec!["--database-url".to_owned(), url.clone()]
}

fn run(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .args(db_args(args))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn outbox_links(dir: &std::path::Path, path: &str) -> Vec<String> {
    let mut out = vec![];
    for text in common::eml_texts(&dir.join("outbox")) {
        out.extend(
            text.lines()
                .filter(|l| l.contains(path))
                .map(|l| l.trim().to_owned()),
        );
    }
    out
}

#[test]
fn partner_add_prints_the_id_alone_and_ids_start_at_100() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_str().unwrap();
    let (ok, out, err) = run(
        &["--data-dir", dir, "partner", "add", "--name", "Acme"],
        None,
    );
    assert!(ok, "{err}");
    assert_eq!(out, "100\n");
    // --data-dir also works after the subcommand.
    let (ok, out, _) = run(
        &[
            "partner",
            "add",
            "--name",
            "Acme 2FA",
            "--two-factor",
            "--data-dir",
            dir,
        ],
        None,
    );
    assert!(ok);
    assert_eq!(out, "101\n");
}

#[test]
fn user_add_with_a_password_on_a_2fa_account_emails_a_qr_link_and_without_one_a_set_password_link()
{
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_str().unwrap();
    run(
        &[
            "--data-dir",
            dir,
            "partner",
            "add",
            "--name",
            "Media",
            "--two-factor",
        ],
        None,
    );
    let (ok, _, err) = run(
        &[
            "--data-dir",
            dir,
            "user",
            "add",
            "--partner",
            "100",
            "--email",
            "ada@example.com",
            "--admin",
            "--password-stdin",
        ],
        Some("correct horse battery staple\n"),
    );
    assert!(ok, "{err}");
    let qr = outbox_links(d.path(), "/actions/auth-info/");
    assert_eq!(qr.len(), 1);
    assert!(
        qr[0].starts_with("http://127.0.0.1:8080/actions/auth-info/"),
        "{qr:?}"
    );
    let (ok, _, err) = run(
        &[
            "--data-dir",
            dir,
            "user",
            "add",
            "--partner",
            "100",
            "--email",
            "bob@example.com",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert_eq!(
        outbox_links(d.path(), "/actions/restore-password/").len(),
        1
    );
    // The key file was created beside the database, readable by the owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(d.path().join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn cli_errors_print_one_line_and_exit_non_zero() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_str().unwrap();
    let (ok, _, err) = run(
        &[
            "--data-dir",
            dir,
            "user",
            "add",
            "--partner",
            "555",
            "--email",
            "a@b.c",
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("no account with id 555"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let (ok, _, err) = run(
        &[
            "--data-dir",
            dir,
            "user",
            "expire-password",
            "--email",
            "x@y.z",
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("no login"), "{err}");
}

/// A `kmc-server serve` on `127.0.0.1:0` over `dir`, with what it printed
/// before it was ready; killed and reaped when dropped (by the harness).
struct Serve {
    _server: harness::Server,
    url: String,
    addr: String,
    demo_login: Option<String>,
    qr_link: Option<String>,
}

impl Serve {
    fn start(dir: &str, demo: bool) -> Self {
        Self::start_with(dir, demo, &[])
    }

    /// [`Serve::start`] with more `serve` arguments.
    fn start_with(dir: &str, demo: bool, more: &[&str]) -> Self {
        let mut args = vec![
            "--data-dir",
            dir,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--dist",
            "/nonexistent-dist",
        ];
        if demo {
            args.push("--demo");
        }
        args.extend_from_slice(more);
        let mut cmd = Command::new(BIN);
        cmd.args(db_args(&args)).args(args).stderr(Stdio::null());
        let server = harness::start(cmd, None, std::time::Duration::from_secs(30)).unwrap();
        let printed = |prefix: &str| {
            server
                .printed
                .iter()
                .find_map(|l| l.strip_prefix(prefix).map(str::to_owned))
        };
        Self {
            url: server.url.clone(),
            addr: server.addr.to_string(),
            demo_login: printed("demo login: "),
            qr_link: printed("demo QR link: "),
            _server: server,
        }
    }

    /// `host:port`.
    fn addr(&self) -> &str {
        &self.addr
    }
}

#[test]
fn serve_demo_prints_the_login_and_qr_link_then_the_address_and_answers_logins() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_str().unwrap();
    let server = Serve::start(dir, true);
    let url = server.url.clone();
    assert!(url.starts_with("http://127.0.0.1:"));
    let (email, password) = server
        .demo_login
        .clone()
        .unwrap()
        .split_once(" / ")
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();
    assert_eq!(email, "demo@example.com");
    assert!(
        server
            .qr_link
            .as_deref()
            .unwrap()
            .starts_with(&format!("{url}/actions/auth-info/"))
    );
    assert_eq!(outbox_links(d.path(), "/actions/auth-info/").len(), 1);

    // Log in to "Demo Sandbox" (101, password only) over a real socket.
    let addr = server.addr();
    let body =
        format!(r#"{{"loginId":"{email}","password":"{password}","partnerId":101,"otp":""}}"#);
    let reply = http_post(
        addr,
        "/api_v3/service/user/action/loginByLoginId?format=1",
        &body,
    );
    assert!(reply.starts_with('"'), "{reply}");
    let body =
        format!(r#"{{"loginId":"{email}","password":"{password}","partnerId":100,"otp":""}}"#);
    let reply = http_post(
        addr,
        "/api_v3/service/user/action/loginByLoginId?format=1",
        &body,
    );
    assert!(reply.contains("MISSING_OTP"), "{reply}");

    // A CLI command runs next to `serve` on the same data dir, and its links
    // use the address `serve` recorded.
    let (ok, out, err) = run(
        &["--data-dir", dir, "partner", "add", "--name", "Third"],
        None,
    );
    assert!(ok, "{err}");
    assert_eq!(out, "102\n");
    let (ok, _, err) = run(
        &[
            "--data-dir",
            dir,
            "partner",
            "set-2fa",
            "--partner",
            "101",
            "on",
        ],
        None,
    );
    assert!(ok, "{err}");
    // The demo login already has an authenticator: it is told that codes
    // are now required, and gets no second QR link.
    assert!(err.contains("0 QR link(s) and 1 notice(s)"), "{err}");
    let links = outbox_links(d.path(), "/actions/auth-info/");
    assert_eq!(links.len(), 1);
    assert!(links.iter().all(|l| l.starts_with(&url)), "{links:?}");
}

fn http_post(addr: &str, path: &str, body: &str) -> String {
    use std::io::Read as _;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.rsplit("\r\n\r\n").next().unwrap().to_owned()
}

#[test]
fn a_second_demo_run_prints_fresh_working_credentials() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_str().unwrap();
    let start = || {
        let server = Serve::start(dir, true);
        let password = server
            .demo_login
            .as_deref()
            .and_then(|l| l.strip_prefix("demo@example.com / "))
            .expect("demo login printed")
            .to_owned();
        let addr = server.addr().to_owned();
        (server, addr, password)
    };
    let (first, _, first_password) = start();
    drop(first);
    let (_second, addr, second_password) = start();
    assert_ne!(first_password, second_password);
    let login = |pw: &str| {
        http_post(
            &addr,
            "/api_v3/service/user/action/loginByLoginId?format=1",
            &format!(
                r#"{{"loginId":"demo@example.com","password":"{pw}","partnerId":101,"otp":""}}"#
            ),
        )
    };
    assert!(login(&second_password).starts_with('"'));
    assert!(login(&first_password).contains("USER_WRONG_PASSWORD"));
}

#[test]
fn commands_started_together_on_a_new_data_dir_all_migrate_and_succeed() {
    // Seen before the open lock: "table partners already exists" when a CLI
    // command ran while `serve` was starting on the same data dir.
    for round in 0..5 {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().to_str().unwrap().to_owned();
        let children: Vec<_> = (0..4)
            .map(|i| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    run(
                        &[
                            "--data-dir",
                            &dir,
                            "partner",
                            "add",
                            "--name",
                            &format!("P{i}"),
                        ],
                        None,
                    )
                })
            })
            .collect();
        let mut ids = Vec::new();
        for c in children {
            let (ok, out, err) = c.join().unwrap();
            assert!(ok, "round {round}: {err}");
            ids.push(out.trim().parse::<i64>().unwrap());
        }
        ids.sort_unstable();
        assert_eq!(ids, [100, 101, 102, 103], "round {round}");
    }
}

#[test]
fn serve_answers_healthz_once_it_prints_its_address() {
    let d = tempfile::tempdir().unwrap();
    let server = Serve::start(d.path().to_str().unwrap(), false);
    let addr = server.addr();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut s, &mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("ok\n"), "{reply}");
}

#[test]
fn serve_deletes_an_ended_session_on_its_own_one_prune_interval_after_its_end() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_str().unwrap();
    let server = Serve::start_with(dir, true, &["--prune-interval-secs", "1"]);
    let (email, password) = server
        .demo_login
        .clone()
        .unwrap()
        .split_once(" / ")
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();
    let addr = server.addr();
    let body = format!(r#"{{"loginId":"{email}","password":"{password}","partnerId":101}}"#);
    let ks = http_post(
        addr,
        "/api_v3/service/user/action/loginByLoginId?format=1",
        &body,
    );
    assert!(ks.starts_with('"'), "{ks}");
    let with_ks = format!(r#"{{"ks":{ks}}}"#);
    let end = http_post(
        addr,
        "/api_v3/service/session/action/end?format=1",
        &with_ks,
    );
    assert_eq!(end, "null");
    let ksid = || {
        let reply = http_post(addr, "/api_v3/service/user/action/get?format=1", &with_ks);
        let v: serde_json::Value = serde_json::from_str(&reply).unwrap();
        v["args"]["KSID"].as_str().unwrap_or_default().to_owned()
    };
    // Answered as ended until a pass finds it ended a whole interval ago;
    // then the row is gone and the KS is unknown.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match ksid().as_str() {
            "LOGOUT" => {}
            "INVALID" => break,
            other => panic!("a KS answered {other:?}"),
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the ended session was never deleted"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
