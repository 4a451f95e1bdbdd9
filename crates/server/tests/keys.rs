//! `rotate-key` as operators run it: every secret re-sealed under the new
//! key in one transaction (a `kill -9` at any point leaves every secret
//! under one key), codes signing in on a server started with the new key,
//! a server started with the old one refused, and a server still running
//! with the old key answering Kaltura error objects.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cli::{BIN, Serve, api, db_args, http_exchange, now_step, outbox_links, run, run_ok};
use kaltura_api::OtpAuthUri;
use kmc_server::auth::crypto::SecretBox;
use kmc_server::auth::totp;
use kmc_server::store;
use rand::Rng as _;
use serde_json::json;

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";

fn write_key(path: &Path) {
    let mut key = [0u8; 32];
    rand::thread_rng().fill(&mut key);
    std::fs::write(path, key).unwrap();
}

fn sign_in(addr: &str, email: &str, code: &str) -> serde_json::Value {
    api(
        addr,
        "user",
        "loginByLoginId",
        &json!({"loginId": email, "password": PASSWORD, "partnerId": 100, "otp": code}),
    )
}

#[test]
fn after_rotate_key_a_running_server_takes_up_the_moved_key_file_and_a_start_with_the_old_key_is_refused()
 {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_str().unwrap();
    run_ok(
        dir,
        &["partner", "add", "--name", "Media", "--two-factor"],
        None,
    );
    for email in [EMAIL, "bob@example.com"] {
        let add = [
            "user",
            "add",
            "--partner",
            "100",
            "--email",
            email,
            "--password-stdin",
        ];
        run_ok(dir, &add, Some(PASSWORD));
    }

    // Both enrolled, and Ada signed in with a code, on a server with the
    // first key (the data dir's key file).
    let old = Serve::start(dir, false);
    let mut secrets = std::collections::HashMap::new();
    for link in outbox_links(d.path(), "/actions/auth-info/") {
        let hash_key = link.rsplit('/').next().unwrap();
        let uri = api(
            old.addr(),
            "user",
            "generateQrCode",
            &json!({ "hashKey": hash_key }),
        );
        let uri = OtpAuthUri::parse(uri.as_str().unwrap()).unwrap();
        secrets.insert(uri.account.clone(), uri.secret_bytes().unwrap());
    }
    let (ada, bob) = (&secrets[EMAIL], &secrets["bob@example.com"]);
    let step = now_step();
    let ks = sign_in(old.addr(), EMAIL, &totp::code_at_step(ada, step).unwrap());
    assert!(ks.is_string(), "{ks}");

    let new_key = d.path().join("new.key");
    write_key(&new_key);
    let (ok, _, err) = run(
        &[
            "--data-dir",
            dir,
            "rotate-key",
            "--new-key-file",
            new_key.to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(err.contains("committed: 2 secret(s)"), "{err}");

    // The server still holding the old key answers a code with a Kaltura
    // error object (HTTP 200), not a 500; its sessions still work.
    let next = totp::code_at_step(ada, step + 1).unwrap();
    let body = json!({"loginId": EMAIL, "password": PASSWORD, "partnerId": 100, "otp": next});
    let (status, reply) = http_exchange(
        old.addr(),
        "/api_v3/service/user/action/loginByLoginId?format=1",
        &body.to_string(),
    );
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["objectType"], "KalturaAPIException", "{reply}");
    assert!(api(old.addr(), "user", "get", &json!({ "ks": ks })).is_object());

    // Once the new key is moved over its key file, the same server signs
    // the code in, without a restart.
    let old_key = d.path().join("old.key");
    std::fs::copy(d.path().join("secret.key"), &old_key).unwrap();
    std::fs::rename(&new_key, d.path().join("secret.key")).unwrap();
    let ks = sign_in(old.addr(), EMAIL, &next);
    assert!(ks.is_string(), "{ks}");
    drop(old);

    // A start with the old key is refused, saying why.
    let (ok, _, err) = run(
        &[
            "--data-dir",
            dir,
            "--secret-key-file",
            old_key.to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--dist",
            "/nonexistent-dist",
        ],
        None,
    );
    assert!(!ok);
    assert!(
        err.contains("not this database's current TOTP key"),
        "{err}"
    );

    // A server started with the new key signs Bob's authenticator in.
    let new = Serve::start(dir, false);
    let ks = sign_in(
        new.addr(),
        "bob@example.com",
        &totp::code_at_step(bob, now_step()).unwrap(),
    );
    assert!(ks.is_string(), "{ks}");
}

/// Which of two keys opens every bulk secret of the database: `Some(0)`
/// or `Some(1)`, `None` when neither opens them all (or both do).
async fn the_one_key(pool: &store::Pool, keys: &[SecretBox; 2]) -> Option<usize> {
    let rows: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT id, totp_secret FROM logins WHERE totp_secret IS NOT NULL")
            .fetch_all(pool)
            .await
            .unwrap();
    let opens_all = |key: &SecretBox| {
        rows.iter()
            .all(|(id, sealed)| key.open(*id, sealed).ok() == Some(store::bulk_secret(*id)))
    };
    match (opens_all(&keys[0]), opens_all(&keys[1])) {
        (true, false) => Some(0),
        (false, true) => Some(1),
        _ => None,
    }
}

#[test]
fn a_rotation_killed_at_any_point_leaves_every_secret_under_the_old_key_or_every_one_under_the_new()
{
    const SECRETS: usize = 3000;
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_str().unwrap();
    let base = ["--data-dir", dir];
    let (ok, _, err) = run(
        &[&base[..], &["partner", "add", "--name", "P"]].concat(),
        None,
    );
    assert!(ok, "{err}");
    let paths = [d.path().join("secret.key"), d.path().join("other.key")];
    write_key(&paths[1]);
    let keys = [
        SecretBox::load(&paths[0]).unwrap(),
        SecretBox::load(&paths[1]).unwrap(),
    ];
    let db = db_args(&base);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = store::DbConfig {
        url: db.get(1).cloned(),
        ..Default::default()
    };
    let pool = rt.block_on(store::open(d.path(), &config)).unwrap();
    rt.block_on(store::add_sealed_logins(&pool, &keys[0], SECRETS))
        .unwrap();

    let mut current = 0;
    let (mut kept, mut rotated) = (0, 0);
    let mut full_run = Duration::ZERO;
    for round in 0..14 {
        let next = 1 - current;
        let mut child = Command::new(BIN)
            .args(&db)
            .args(base)
            .arg("--secret-key-file")
            .arg(&paths[current])
            .arg("rotate-key")
            .arg("--new-key-file")
            .arg(&paths[next])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        // Round 0 runs to its end (and times it); then rounds alternate
        // between a kill once the k-th progress line is read and a kill at
        // a random moment of a rotation's usual length.
        match round {
            0 => {}
            r if r % 2 == 1 => {
                let lines = (r / 2) % (SECRETS / 500 + 2);
                for _ in 0..=lines {
                    stderr.read_line(&mut String::new()).unwrap();
                }
                child.kill().unwrap();
            }
            _ => {
                let micros = u64::try_from(full_run.as_micros()).unwrap();
                std::thread::sleep(Duration::from_micros(
                    rand::thread_rng().gen_range(0..=micros),
                ));
                child.kill().unwrap();
            }
        }
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut rest).ok();
        let status = child.wait().unwrap();
        if round == 0 {
            assert!(status.success(), "{rest}");
            full_run = started.elapsed();
        }
        let under = rt
            .block_on(the_one_key(&pool, &keys))
            .unwrap_or_else(|| panic!("round {round}: secrets under both keys"));
        // The key check moved with the secrets.
        rt.block_on(kmc_server::auth::keys::check_key(
            &pool,
            &keys[under],
            &paths[under],
        ))
        .unwrap_or_else(|e| panic!("round {round}: {e:#}"));
        if under == next {
            rotated += 1;
            current = next;
        } else {
            kept += 1;
        }
    }
    assert!(rotated >= 1 && kept >= 1, "rotated {rotated}, kept {kept}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn secrets_written_during_a_rotation_by_a_process_with_the_old_key_end_under_the_new_key_or_not_at_all()
 {
    let t = common::app().await;
    let partner = t.partner("Media", false).await;
    let emails: Vec<String> = (0..16).map(|i| format!("user{i}@example.com")).collect();
    for email in &emails {
        t.user(partner, email).await;
    }
    store::add_sealed_logins(&t.state.pool, &t.state.secrets.current().secrets, 300)
        .await
        .unwrap();
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill(&mut bytes);
    let new = SecretBox::from_key(&bytes);

    // This process keeps its old key while the rotation runs beside it and
    // resets authenticators (each writes a secret sealed with the old key).
    let rotation = {
        let (pool, old, new) = (
            t.state.pool.clone(),
            t.state.secrets.current().secrets.clone(),
            new.clone(),
        );
        tokio::spawn(
            async move { kmc_server::auth::keys::rotate(&pool, &old, &new, |_, _| {}).await },
        )
    };
    let resets: Vec<_> = emails
        .iter()
        .map(|email| {
            let (state, email) = (t.state.clone(), email.clone());
            tokio::spawn(async move {
                kmc_server::admin::helpdesk::reset_two_factor(&state, &email).await
            })
        })
        .collect();
    assert_eq!(
        rotation.await.unwrap().unwrap(),
        300 + {
            // Resets committed before the rotation read the secrets were
            // re-sealed by it; the others refused to write.
            let mut before = 0;
            for r in resets {
                match r.await.unwrap() {
                    Ok(_) => before += 1,
                    Err(e) => assert!(e.to_string().contains("rotated"), "{e:#}"),
                }
            }
            before
        }
    );
    let rows: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT id, totp_secret FROM logins WHERE totp_secret IS NOT NULL")
            .fetch_all(&t.state.pool)
            .await
            .unwrap();
    for (id, sealed) in &rows {
        assert!(
            new.open(*id, sealed).is_ok(),
            "login {id}'s secret is not under the new key"
        );
    }
}
