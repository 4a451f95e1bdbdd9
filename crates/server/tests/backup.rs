//! `backup --to FILE` beside a running server: a copy taken during a burst
//! of real sign-ins restores, with the key file, into a fresh data dir
//! where the logins, secrets and sessions it held work.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::cli::{Serve, api, now_step, outbox_links, run, run_ok};
use kaltura_api::OtpAuthUri;
use kmc_server::auth::totp;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

fn sign_in(addr: &str, email: &str, partner: i64, otp: &str) -> Value {
    api(
        addr,
        "user",
        "loginByLoginId",
        &json!({"loginId": email, "password": PASSWORD, "partnerId": partner, "otp": otp}),
    )
}

/// Returns once `count` is at least `n`, polling it.
fn wait_for(count: &AtomicUsize, n: usize) {
    while count.load(Ordering::SeqCst) < n {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_backup_taken_during_a_burst_of_sign_ins_restores_its_logins_secrets_and_sessions() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_str().unwrap();
    let copy = d.path().join("copy.sqlite3");
    let copy_arg = copy.to_str().unwrap();
    let cli = |args: &[&str], stdin: Option<&str>| {
        run_ok(dir, args, stdin);
    };
    if std::env::var("KMC_TEST_DATABASE_URL").is_ok_and(|u| !u.trim().is_empty()) {
        // PostgreSQL is backed up with its own tools; the command says so.
        let (ok, _, err) = run(&["--data-dir", dir, "backup", "--to", copy_arg], None);
        assert!(!ok);
        assert!(err.contains("pg_dump"), "{err}");
        assert!(!copy.exists());
        return;
    }
    cli(&["partner", "add", "--name", "Media", "--two-factor"], None);
    cli(&["partner", "add", "--name", "Sandbox"], None);
    for (partner, email) in [("100", "ada@example.com"), ("101", "bob@example.com")] {
        cli(
            &[
                "user",
                "add",
                "--partner",
                partner,
                "--email",
                email,
                "--password-stdin",
            ],
            Some(PASSWORD),
        );
    }
    let server = Serve::start(dir, false);
    let addr = server.addr().to_owned();
    let link = outbox_links(d.path(), "/actions/auth-info/").pop().unwrap();
    let uri = api(
        &addr,
        "user",
        "generateQrCode",
        &json!({ "hashKey": link.rsplit('/').next().unwrap() }),
    );
    let secret = OtpAuthUri::parse(uri.as_str().unwrap())
        .unwrap()
        .secret_bytes()
        .unwrap();
    let step = now_step();
    let ada_ks = sign_in(
        &addr,
        "ada@example.com",
        100,
        &totp::code_at_step(&secret, step).unwrap(),
    );
    let bob_ks = sign_in(&addr, "bob@example.com", 101, "");
    assert!(
        ada_ks.is_string() && bob_ks.is_string(),
        "{ada_ks} {bob_ks}"
    );

    // A burst of sign-ins, and the backup in the middle of it.
    let stop = Arc::new(AtomicBool::new(false));
    let signed_in = Arc::new(AtomicUsize::new(0));
    let burst: Vec<_> = (0..4)
        .map(|_| {
            let (stop, signed_in, addr) = (stop.clone(), signed_in.clone(), addr.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let ks = sign_in(&addr, "bob@example.com", 101, "");
                    assert!(ks.is_string(), "{ks}");
                    signed_in.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    wait_for(&signed_in, 4);
    cli(&["backup", "--to", copy_arg], None);
    let at_backup = signed_in.load(Ordering::SeqCst);
    wait_for(&signed_in, at_backup + 4);
    stop.store(true, Ordering::SeqCst);
    for t in burst {
        t.join().unwrap();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (ok, _, err) = run(&["--data-dir", dir, "backup", "--to", copy_arg], None);
    assert!(!ok && err.contains("exists already"), "{err}");
    drop(server);

    // Restored: the copy as the database of a fresh data dir, with the key.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&copy, restored.path().join("kmc.sqlite3")).unwrap();
    std::fs::copy(
        d.path().join("secret.key"),
        restored.path().join("secret.key"),
    )
    .unwrap();
    let server = Serve::start(restored.path().to_str().unwrap(), false);
    let addr = server.addr();
    for ks in [&ada_ks, &bob_ks] {
        let user = api(addr, "user", "get", &json!({ "ks": ks }));
        assert!(user["objectType"] != "KalturaAPIException", "{user}");
    }
    let code = totp::code_at_step(&secret, now_step() + 1).unwrap();
    assert!(sign_in(addr, "ada@example.com", 100, &code).is_string());
    assert!(sign_in(addr, "bob@example.com", 101, "").is_string());
}
