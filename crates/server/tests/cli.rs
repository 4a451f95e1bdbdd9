//! The `kmc-server` binary as operators and the other tools script it:
//! `partner add` prints the id alone, `user add` writes mail to the outbox,
//! `serve` prints its address (and the demo login) and answers over HTTP.

mod common;

use std::io::Write as _;

use common::cli::{Serve, http_post, outbox_links, run, run_in};

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

#[test]
fn help_desk_commands_say_what_they_did_and_exit_non_zero_on_an_unknown_email_or_account() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_str().unwrap();
    let cli = |args: &[&str]| run_in(dir, args, None);
    cli(&["partner", "add", "--name", "Media", "--two-factor"]);
    let add = [
        "user",
        "add",
        "--partner",
        "100",
        "--email",
        "ada@example.com",
    ];
    let (ok, _, err) = run_in(
        dir,
        &[&add[..], &["--password-stdin"]].concat(),
        Some("correct horse battery staple\n"),
    );
    assert!(ok, "{err}");

    let (ok, out, _) = cli(&["user", "list"]);
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("EMAIL"), "{out}");
    assert!(lines[1].contains("100 Media (user, 2FA)"), "{out}");
    let (ok, out, _) = cli(&["user", "list", "--partner", "100", "--format", "json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["email"], "ada@example.com");
    assert_eq!(v[0]["enrolled"], false);

    let (ok, _, err) = cli(&["user", "reset-2fa", "--email", "ada@example.com"]);
    assert!(ok, "{err}");
    assert!(err.contains("a new QR link was emailed"), "{err}");
    assert_eq!(outbox_links(d.path(), "/actions/auth-info/").len(), 2);
    let (ok, _, err) = cli(&["user", "end-sessions", "--email", "ada@example.com"]);
    assert!(ok && err.contains("0 session(s) ended"), "{err}");
    let (ok, _, err) = cli(&["user", "unblock", "--email", "ada@example.com"]);
    assert!(ok && err.contains("unblocked"), "{err}");

    for args in [
        &["user", "list", "--partner", "555"][..],
        &["user", "unblock", "--email", "nobody@example.com"],
        &["user", "reset-2fa", "--email", "nobody@example.com"],
        &["user", "end-sessions", "--email", "nobody@example.com"],
        &["user", "remove", "--email", "nobody@example.com"],
        &[
            "user",
            "remove",
            "--email",
            "ada@example.com",
            "--partner",
            "555",
        ],
    ] {
        let (ok, _, err) = cli(args);
        assert!(!ok, "{args:?} succeeded");
        assert!(
            err.contains("there is no login nobody@example.com")
                || err.contains("there is no account with id 555"),
            "{args:?}: {err}"
        );
    }
    let (ok, _, err) = cli(&[
        "user",
        "remove",
        "--email",
        "ada@example.com",
        "--partner",
        "100",
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("is in no account now"), "{err}");
    let (ok, _, err) = cli(&["user", "remove", "--email", "ada@example.com"]);
    assert!(ok && err.contains("login removed"), "{err}");
    let (_, out, _) = cli(&["user", "list", "--format", "json"]);
    assert_eq!(out.trim(), "[]");
}
