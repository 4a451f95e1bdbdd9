//! Test harness: an [`AppState`] on a temporary data dir with a manual clock
//! and cheap argon2 parameters, driven through `router(state)` with
//! `oneshot` ([`app`], [`app_with`]) or over a real socket ([`spawn_app`],
//! [`TestApp::listen`]), plus helpers to add a login, sign in, read the
//! outbox and compute codes, so each test file states only what it checks.

#![allow(dead_code)]

pub mod cli;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, header};
use http_body_util::BodyExt as _;
use kaltura_api::OtpAuthUri;
use kmc_server::auth::passwords::HashCost;
use kmc_server::auth::totp;
use kmc_server::clock::ManualClock;
use kmc_server::net::ConnLimits;
use kmc_server::{AppState, Options, admin};
use serde_json::{Value, json};
use tempfile::TempDir;
use tower::ServiceExt as _;

/// Where the manual clock starts (a multiple of 30 plus 10 s).
pub const START: i64 = 1_800_000_010;

/// One server under test.
pub struct TestApp {
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub dir: TempDir,
    pub router: Router,
    /// The PostgreSQL database of the PostgreSQL pass (`None`: SQLite in
    /// `dir`), for tests that open the same database again.
    pub db_url: Option<String>,
}

/// A password that passes the policy.
pub const PASSWORD: &str = "correct horse battery staple";

/// The login [`TestApp::login_in`] adds and [`TestApp::login_to`] signs in.
pub const EMAIL: &str = "ada@example.com";

pub async fn app() -> TestApp {
    app_with(|_| {}).await
}

pub async fn app_with(configure: impl FnOnce(&mut Options)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START));
    let mut o = Options::new(dir.path());
    // The PostgreSQL pass (KMC_TEST_DATABASE_URL): a fresh database per test.
    o.db.url = kmc_server::store::test_database_url().await;
    o.hash_cost = HashCost::TEST;
    o.clock = clock.clone();
    o.config.public_url = "http://kmc.test".into();
    configure(&mut o);
    let db_url = o.db.url.clone();
    let state = AppState::open(o).await.unwrap();
    let router = kmc_server::router(state.clone());
    TestApp {
        state,
        clock,
        dir,
        router,
        db_url,
    }
}

/// A fresh app served on a real socket (127.0.0.1, port 0) with the default
/// connection limits, and its address.
pub async fn spawn_app() -> (TestApp, SocketAddr) {
    let t = app().await;
    let addr = t.listen(ConnLimits::default()).await;
    (t, addr)
}

impl TestApp {
    /// Another state on this app's database, data dir and clock, as a
    /// second replica (or a CLI command) beside it would open it.
    pub async fn second_state(&self) -> AppState {
        let mut o = Options::new(self.dir.path());
        o.db.url = self.db_url.clone();
        o.hash_cost = HashCost::TEST;
        o.clock = self.clock.clone();
        o.config.public_url = "http://kmc.test".into();
        AppState::open(o).await.unwrap()
    }

    /// The number of rows in `table`.
    pub async fn rows(&self, table: &str) -> i64 {
        kmc_server::store::row_counts(&self.state.pool)
            .await
            .unwrap()
            .into_iter()
            .find(|(t, _)| *t == table)
            .unwrap_or_else(|| panic!("no table {table}"))
            .1
    }

    /// Serves this app on a real socket (127.0.0.1, port 0) with `limits`,
    /// as `kmc-server` serves it, until the test ends; the address.
    pub async fn listen(&self, limits: ConnLimits) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(kmc_server::net::serve(
            listener,
            self.router.clone(),
            limits,
            std::future::pending(),
        ));
        addr
    }

    /// One login, [`EMAIL`] with [`PASSWORD`], in each of `accounts` (name,
    /// two-factor), created in that order; the accounts' ids.
    pub async fn login_in(&self, accounts: &[(&str, bool)]) -> Vec<i64> {
        let mut ids = Vec::new();
        for &(name, two_factor) in accounts {
            let id = self.partner(name, two_factor).await;
            self.user(id, EMAIL).await;
            ids.push(id);
        }
        ids
    }

    /// `user.loginByLoginId` of [`EMAIL`] into one account, as KMC sends it
    /// (`otp` is `""` on the first step).
    pub async fn login_to(&self, partner: i64, password: &str, otp: &str) -> Value {
        self.call(
            "user",
            "loginByLoginId",
            json!({"loginId": EMAIL, "password": password, "partnerId": partner, "otp": otp}),
        )
        .await
    }

    /// Asserts that a login of [`EMAIL`] with `password` (and `otp`) is
    /// refused with `code`.
    pub async fn assert_login_error(&self, password: &str, otp: Option<&str>, code: &str) {
        assert_error(&self.login(EMAIL, password, otp).await, code);
    }

    /// Asserts that [`EMAIL`] signs in with `password` (and `otp`), and
    /// returns the KS.
    pub async fn assert_signs_in(&self, password: &str, otp: Option<&str>) -> Value {
        let v = self.login(EMAIL, password, otp).await;
        assert!(v.is_string(), "no session: {v}");
        v
    }

    /// `user.loginByKs`: the session `ks` moved into `partner`.
    pub async fn login_by_ks(&self, ks: &(impl serde::Serialize + ?Sized), partner: i64) -> Value {
        self.call(
            "user",
            "loginByKs",
            json!({"ks": ks, "requestedPartnerId": partner}),
        )
        .await
    }

    /// `user.get` with the session `ks`.
    pub async fn user_get(&self, ks: &(impl serde::Serialize + ?Sized)) -> Value {
        self.call("user", "get", json!({"ks": ks})).await
    }

    /// `setInitialPassword` of `service` (`user` or `adminUser`): a new
    /// password through the link `hash_key`.
    pub async fn set_initial_password(
        &self,
        service: &str,
        hash_key: &str,
        password: &str,
    ) -> Value {
        self.call(
            service,
            "setInitialPassword",
            json!({"hashKey": hash_key, "newPassword": password}),
        )
        .await
    }

    /// Sends a request through the router.
    pub async fn send(&self, req: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(req).await.unwrap()
    }

    /// POSTs a JSON body to an action and returns the reply as JSON.
    pub async fn call(&self, service: &str, action: &str, body: Value) -> Value {
        let req = Request::post(format!(
            "/api_v3/service/{service}/action/{action}?format=1"
        ))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
        json_of(self.send(req).await).await
    }

    /// [`TestApp::call`] as a client at `from` would make it over a socket
    /// (the listener passes each request its peer address the same way).
    pub async fn call_from(
        &self,
        from: std::net::IpAddr,
        service: &str,
        action: &str,
        body: Value,
    ) -> Value {
        let mut req = Request::post(format!(
            "/api_v3/service/{service}/action/{action}?format=1"
        ))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(SocketAddr::new(from, 50_000)));
        json_of(self.send(req).await).await
    }

    /// An account.
    pub async fn partner(&self, name: &str, two_factor: bool) -> i64 {
        admin::add_partner(&self.state, name, two_factor)
            .await
            .unwrap()
    }

    /// A user with [`PASSWORD`] (joins the login when the email exists).
    pub async fn user(&self, partner: i64, email: &str) {
        admin::add_user(
            &self.state,
            partner,
            email,
            true,
            Some("Ada"),
            Some("Lovelace"),
            Some(PASSWORD),
        )
        .await
        .unwrap();
    }

    /// The login's current secret.
    pub async fn secret(&self, email: &str) -> Vec<u8> {
        let uri = admin::otpauth_of(&self.state, email).await.unwrap();
        OtpAuthUri::parse(&uri).unwrap().secret_bytes().unwrap()
    }

    /// The code of the current time step (plus `delta` steps).
    pub async fn code(&self, email: &str, delta: i64) -> String {
        let secret = self.secret(email).await;
        let now = self.clock.as_ref().now_secs();
        totp::code_at_step(&secret, now / totp::STEP + delta).unwrap()
    }

    /// A login attempt.
    pub async fn login(&self, email: &str, password: &str, otp: Option<&str>) -> Value {
        let mut body = json!({"loginId": email, "password": password});
        if let Some(otp) = otp {
            body["otp"] = json!(otp);
        }
        self.call("user", "loginByLoginId", body).await
    }

    /// The texts of every message in the outbox.
    pub fn outbox(&self) -> Vec<String> {
        eml_texts(&self.dir.path().join("outbox"))
    }

    /// The hash keys of every link to `path` (e.g. `/actions/auth-info/`) in
    /// the outbox, addressed to `email`, oldest first.
    pub fn link_tokens(&self, email: &str, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        for text in self.outbox() {
            if !text.contains(&format!("To: {email}")) {
                continue;
            }
            for line in text.lines() {
                if let Some(i) = line.find(path) {
                    out.push(line[i + path.len()..].trim().to_owned());
                }
            }
        }
        out
    }

    /// Asks `resetPassword` for `email` and returns the new link's hash key,
    /// once the mail sent after the reply has been written.
    pub async fn reset_link(&self, email: &str) -> String {
        const RESET: &str = "/actions/restore-password/";
        let known = self.link_tokens(email, RESET);
        let v = self
            .call("user", "resetPassword", json!({ "email": email }))
            .await;
        assert!(v.is_null(), "{v}");
        self.mail_sent().await;
        self.link_tokens(email, RESET)
            .into_iter()
            .find(|l| !known.contains(l))
            .unwrap_or_else(|| panic!("no new reset link for {email} in the outbox"))
    }

    /// Returns once every mail the server sends after a reply (see
    /// `kmc_server::background`) is sent: the outbox then holds all it will
    /// for the requests answered so far.
    pub async fn mail_sent(&self) {
        self.state.background.idle().await;
    }

    /// The outbox, once it holds `n` messages: every mail of the requests
    /// answered so far is sent by then.
    pub async fn wait_outbox(&self, n: usize) {
        self.mail_sent().await;
        assert!(
            self.outbox().len() >= n,
            "the outbox holds {} messages, not {n}",
            self.outbox().len()
        );
    }
}

/// Reads a response body as JSON.
/// The texts of every message in `outbox`, oldest first. Only `*.eml`:
/// the server writes each one under a hidden `.partial` name and renames it
/// into place, so a listing may name a partial file that is gone a moment
/// later, while an `.eml` is complete and stays.
pub fn eml_texts(outbox: &std::path::Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(outbox)
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    files
        .into_iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

pub async fn json_of(resp: Response<Body>) -> Value {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
}

/// The error code of a reply, or `None` for a success.
pub fn code_of(v: &Value) -> Option<&str> {
    (v["objectType"] == "KalturaAPIException").then(|| v["code"].as_str().unwrap())
}

/// Asserts a reply is an error with `code`.
#[track_caller]
pub fn assert_error(v: &Value, code: &str) {
    assert_eq!(code_of(v), Some(code), "reply: {v}");
}

trait NowSecs {
    fn now_secs(&self) -> i64;
}

impl NowSecs for ManualClock {
    fn now_secs(&self) -> i64 {
        use kmc_server::clock::Clock as _;
        self.now()
    }
}

/// One HTTP/1.1 request over a fresh connection to `addr`, as any client
/// sends it (JSON body when given); the status and the body.
pub fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

/// For a `kmc-server` process on the PostgreSQL pass
/// (`KMC_TEST_DATABASE_URL`): a fresh database's URL; `None` on the SQLite
/// pass (the data dir's database).
pub fn process_database_url() -> Option<String> {
    std::env::var("KMC_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(kmc_server::store::test_database_url())
}
