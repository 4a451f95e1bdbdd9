//! What an exposed sign-in server meets: slow and silent clients, too many
//! connections, a flood of sign-ins, one client spraying many logins,
//! forwarded addresses, hostile emails, and requests that take too long.

mod common;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use common::*;
use kaltura_api::codes;
use kmc_server::auth::passwords::HashCost;
use kmc_server::auth::throttle::ClientLimits;
use kmc_server::net::{ConnLimits, TrustedProxies};
use serde_json::{Value, json};

const QUEUEING: HashCost = HashCost {
    memory_kib: 2048,
    iterations: 1,
    parallelism: 1,
};

/// A sign-in as it arrives from `peer`, optionally through a proxy that
/// wrote `X-Forwarded-For`.
async fn login_from(
    t: &TestApp,
    peer: &str,
    forwarded: Option<&str>,
    email: &str,
    password: &str,
) -> Value {
    let mut req = Request::post("/api_v3/service/user/action/loginByLoginId?format=1")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let mut req = req
        .body(Body::from(
            json!({"loginId": email, "password": password}).to_string(),
        ))
        .unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    json_of(t.send(req).await).await
}

/// Asserts that `checked` answers were a wrong password (the guess was
/// evaluated) and `refused` were refused by the per-client limit.
fn assert_checked_and_refused(answers: &[Value], checked: usize, refused: usize) {
    let counts = tally(answers);
    assert_eq!(
        counts.get(codes::USER_WRONG_PASSWORD),
        Some(&checked),
        "{counts:?}"
    );
    assert_eq!(
        counts.get(codes::RESOURCE_IS_RESERVED),
        Some(&refused),
        "{counts:?}"
    );
}

fn tally(answers: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for v in answers {
        *counts
            .entry(code_of(v).unwrap_or("OK").to_owned())
            .or_default() += 1;
    }
    counts
}

async fn spray_app(max_failures: usize) -> TestApp {
    app_with(|o| {
        o.client_limits = ClientLimits {
            max_failures,
            ..ClientLimits::default()
        };
        o.config.trusted_proxies = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
    })
    .await
}

#[tokio::test]
async fn one_client_spraying_many_logins_is_refused_after_its_threshold_without_hashing() {
    let t = spray_app(5).await;
    let p = t.partner("Sandbox", false).await;
    for i in 0..20 {
        t.user(p, &format!("user{i}@example.com")).await;
    }
    let mut answers = Vec::new();
    for i in 0..20 {
        answers.push(
            login_from(
                &t,
                "203.0.113.7:5000",
                None,
                &format!("user{i}@example.com"),
                "a wrong guess",
            )
            .await,
        );
    }
    assert_checked_and_refused(&answers, 5, 15);
    // The refused ones never reached a login: no per-login failures beyond 5.
    let failures: i64 =
        sqlx::query_scalar("SELECT CAST(SUM(failed_attempts) AS BIGINT) FROM logins")
            .fetch_one(&t.state.pool)
            .await
            .unwrap();
    assert_eq!(failures, 5);
    // Even the right password is refused from that client, not from others.
    assert_error(
        &login_from(&t, "203.0.113.7:5001", None, "user0@example.com", PASSWORD).await,
        codes::RESOURCE_IS_RESERVED,
    );
    assert!(
        login_from(&t, "198.51.100.1:5000", None, "user0@example.com", PASSWORD)
            .await
            .is_string()
    );
}

#[tokio::test]
async fn an_ipv6_client_is_one_client_across_its_64() {
    let t = spray_app(3).await;
    t.login_in(&[("Sandbox", false)]).await;
    for i in 0..3 {
        let peer = format!("[2001:db8:7:7::{i}]:4000");
        assert_error(
            &login_from(&t, &peer, None, "nobody@example.com", "guess").await,
            codes::USER_WRONG_PASSWORD,
        );
    }
    assert_error(
        &login_from(
            &t,
            "[2001:db8:7:7:ffff::1]:4000",
            None,
            "ada@example.com",
            PASSWORD,
        )
        .await,
        codes::RESOURCE_IS_RESERVED,
    );
    assert!(
        login_from(
            &t,
            "[2001:db8:7:8::1]:4000",
            None,
            "ada@example.com",
            PASSWORD
        )
        .await
        .is_string()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_parallel_spray_from_one_client_gets_no_more_checks_than_its_budget() {
    let t = Arc::new(
        app_with(|o| {
            o.client_limits = ClientLimits {
                max_failures: 10,
                ..ClientLimits::default()
            };
            o.hash_cost = QUEUEING;
            o.max_hash_queue = 1000;
        })
        .await,
    );
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move {
                login_from(
                    &t,
                    "203.0.113.9:1234",
                    None,
                    &format!("nobody{i}@example.com"),
                    "guess",
                )
                .await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    assert_checked_and_refused(&answers, 10, 90);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let t = spray_app(2).await;
    t.login_in(&[("Sandbox", false)]).await;
    // Two people behind the proxy: one guesses, the other is unaffected.
    for _ in 0..2 {
        login_from(
            &t,
            "10.0.0.2:80",
            Some("198.51.100.20"),
            "ada@example.com",
            "x",
        )
        .await;
    }
    assert_error(
        &login_from(
            &t,
            "10.0.0.2:80",
            Some("198.51.100.20"),
            "ada@example.com",
            PASSWORD,
        )
        .await,
        codes::RESOURCE_IS_RESERVED,
    );
    assert!(
        login_from(
            &t,
            "10.0.0.2:80",
            Some("198.51.100.21"),
            "ada@example.com",
            PASSWORD
        )
        .await
        .is_string()
    );
    // A forged header from an untrusted peer changes nothing: the peer is
    // the client.
    for i in 0..2 {
        let forged = format!("192.0.2.{i}");
        login_from(&t, "203.0.113.50:80", Some(&forged), "ada@example.com", "x").await;
    }
    assert_error(
        &login_from(
            &t,
            "203.0.113.50:80",
            Some("192.0.2.99"),
            "ada@example.com",
            PASSWORD,
        )
        .await,
        codes::RESOURCE_IS_RESERVED,
    );
}

#[tokio::test]
async fn hostile_emails_are_refused_before_they_create_any_limit_state() {
    let t = spray_app(50).await;
    let huge = format!("{}@example.com", "a".repeat(60 * 1024));
    for email in [
        huge.as_str(),
        "not an address",
        "a@",
        &format!("{}@b.co", "x".repeat(250)),
    ] {
        let mut req = Request::post("/api_v3/service/user/action/resetPassword?format=1")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "email": email }).to_string()))
            .unwrap();
        req.extensions_mut()
            .insert(ConnectInfo("203.0.113.1:9".parse::<SocketAddr>().unwrap()));
        let v = json_of(t.send(req).await).await;
        assert_error(&v, codes::INVALID_FIELD_VALUE);
        assert_error(
            &login_from(&t, "203.0.113.1:9", None, email, "guess").await,
            codes::USER_WRONG_PASSWORD,
        );
    }
    let limit_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM request_limits")
        .fetch_one(&t.state.pool)
        .await
        .unwrap();
    assert_eq!(limit_rows, 0);
    assert!(t.state.client_throttle.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_past_the_hashing_queue_is_answered_busy_at_once() {
    let t = Arc::new(
        app_with(|o| {
            o.hash_cost = QUEUEING;
            o.max_hash_queue = 4;
        })
        .await,
    );
    t.login_in(&[("Sandbox", false)]).await;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let v = t
                    .login(&format!("nobody{i}@example.com"), "guess", None)
                    .await;
                (v, started.elapsed())
            })
        })
        .collect();
    let mut busy = 0;
    for task in tasks {
        let (v, _) = task.await.unwrap();
        if code_of(&v) == Some(codes::RESOURCE_IS_RESERVED) {
            busy += 1;
        } else {
            assert_error(&v, codes::USER_WRONG_PASSWORD);
        }
    }
    assert!(busy > 0, "nothing was refused");
    // The queue drains and the next sign-in is served.
    assert!(t.login("ada@example.com", PASSWORD, None).await.is_string());
}

#[tokio::test]
async fn a_request_that_outlasts_the_timeout_gets_a_kaltura_error() {
    let t = app_with(|o| {
        o.hash_cost = HashCost::OWASP;
        o.config.request_timeout = Duration::from_millis(1);
    })
    .await;
    let v = t.login("nobody@example.com", "guess", None).await;
    assert_error(&v, codes::RESOURCE_IS_RESERVED);
}

/// A real listener with small limits, for the connection-level tests.
async fn listening(header_read_timeout: Duration, max_connections: usize) -> (TestApp, SocketAddr) {
    let t = app().await;
    let addr = t
        .listen(ConnLimits {
            header_read_timeout,
            max_connections,
        })
        .await;
    (t, addr)
}

fn healthz(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_headers_too_slowly_is_cut_off_while_others_are_served() {
    let (_t, addr) = listening(Duration::from_millis(500), 100).await;
    let outcome = tokio::task::spawn_blocking(move || {
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.write_all(b"POST /api_v3/service/user/action/get HTTP/1.1\r\nHo")
            .unwrap();
        let started = Instant::now();
        // Others are answered meanwhile.
        assert!(healthz(addr).starts_with("HTTP/1.1 200"));
        slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = Vec::new();
        let _ = slow.read_to_end(&mut buf);
        (started.elapsed(), buf)
    })
    .await
    .unwrap();
    let (waited, _) = outcome;
    assert!(
        waited < Duration::from_secs(3),
        "the slow client held its connection for {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let (_t, addr) = listening(Duration::from_millis(500), 100).await;
    let waited = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        let started = Instant::now();
        while s.read(&mut buf).map(|n| n > 0).unwrap_or(false) {}
        started.elapsed()
    })
    .await
    .unwrap();
    assert!(waited < Duration::from_secs(3), "idle for {waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_are_answered_busy_and_freed_slots_are_reused() {
    let (_t, addr) = listening(Duration::from_secs(30), 2).await;
    tokio::task::spawn_blocking(move || {
        // The listener takes connections in the order they were made, and
        // counts each against the cap as it takes it: the third is past it.
        let held: Vec<_> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
        let mut third = TcpStream::connect(addr).unwrap();
        third
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let _ = third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut buf = Vec::new();
        let started = Instant::now();
        let _ = third.read_to_end(&mut buf);
        let reply = String::from_utf8_lossy(&buf);
        assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
        assert!(reply.contains("RESOURCE_IS_RESERVED"), "{reply}");
        assert!(started.elapsed() < Duration::from_secs(3));
        drop(held);
        // A slot is free once the server has seen a held connection close;
        // until then each new connection is still answered busy.
        let freed = Instant::now();
        loop {
            let reply = healthz(addr);
            if reply.starts_with("HTTP/1.1 200") {
                break;
            }
            // Busy, or (while the busy replies' own small pool is taken)
            // closed at once.
            assert!(
                reply.is_empty() || reply.starts_with("HTTP/1.1 503"),
                "{reply}"
            );
            assert!(
                freed.elapsed() < Duration::from_secs(5),
                "no slot was freed"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_data_dir_and_database_are_private_to_the_server_user() {
    use std::os::unix::fs::PermissionsExt as _;
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("fresh");
    let mut o = kmc_server::Options::new(&dir);
    o.hash_cost = HashCost::TEST;
    let _state = kmc_server::AppState::open(o).await.unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(kmc_server::store::DB_FILE)), 0o600);
}

#[tokio::test]
async fn a_missing_key_file_is_an_error_once_the_database_holds_secrets() {
    let t = app().await;
    t.login_in(&[("Media", true)]).await;
    let dir = t.dir.path().to_owned();
    std::fs::remove_file(dir.join(kmc_server::KEY_FILE)).unwrap();
    let mut o = kmc_server::Options::new(&dir);
    o.db.url = t.db_url.clone();
    o.hash_cost = HashCost::TEST;
    let err = match kmc_server::AppState::open(o).await {
        Ok(_) => panic!("a fresh key was made over sealed secrets"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("missing"), "{err}");
    assert!(!dir.join(kmc_server::KEY_FILE).exists());
}

#[tokio::test]
async fn a_key_file_other_than_the_one_the_database_was_first_used_with_is_refused() {
    let t = app().await;
    let other = tempfile::tempdir().unwrap();
    let mut o = kmc_server::Options::new(t.dir.path());
    o.db.url = t.db_url.clone();
    o.hash_cost = HashCost::TEST;
    o.secret_key_file = Some(other.path().join("another.key"));
    let err = match kmc_server::AppState::open(o).await {
        Ok(_) => panic!("a second key was accepted beside the first"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("same --secret-key-file"), "{err}");
    // The right key still opens it.
    let mut o = kmc_server::Options::new(t.dir.path());
    o.db.url = t.db_url.clone();
    o.hash_cost = HashCost::TEST;
    kmc_server::AppState::open(o).await.unwrap();
}
