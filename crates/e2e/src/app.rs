//! One running `kmc-server` on its own temporary data directory, and what a
//! test does with it: the operator's CLI, the outbox, direct API calls and
//! ageing rows in the database.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use kaltura_api::{KalturaApiError, ReplyError, action_path, decode_reply};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::authenticator::Authenticator;
use crate::mail::{self, Email};
use crate::proxy::RoundRobin;
use crate::{unix_now, workspace_root};

/// How long the server may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a test waits for an email to land in the outbox.
const MAIL_TIMEOUT: Duration = Duration::from_secs(15);

/// Which emailed link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// `/actions/auth-info/{hashKey}`: the QR page.
    AuthInfo,
    /// `/actions/restore-password/{hashKey}`: the set-password page.
    RestorePassword,
}

impl LinkKind {
    /// The path prefix before the hash key.
    pub fn prefix(self) -> &'static str {
        match self {
            LinkKind::AuthInfo => "/actions/auth-info/",
            LinkKind::RestorePassword => "/actions/restore-password/",
        }
    }
}

/// A link read from an email.
#[derive(Debug, Clone)]
pub struct Link {
    /// The full URL as emailed.
    pub url: String,
    /// The hash key at its end.
    pub hash_key: String,
}

/// A login prepared by a test: its email and password, the account it was
/// added to, and, for a 2FA account, the authenticator that scanned its key.
#[derive(Debug)]
pub struct Account {
    /// The partner (account) id.
    pub partner_id: i64,
    /// The partner's name, as `partner.getInfo` returns it.
    pub partner_name: String,
    /// The login email (also the Kaltura user id).
    pub email: String,
    /// The login's password.
    pub password: String,
    /// First and last name.
    pub full_name: String,
    /// Present when the login has a TOTP secret.
    pub authenticator: Option<Authenticator>,
}

impl Account {
    /// The authenticator of a 2FA login; panics for a password-only one.
    pub fn authenticator(&self) -> &Authenticator {
        self.authenticator
            .as_ref()
            .expect("this account was prepared with two-factor authentication")
    }
}

/// A password that passes the server's policy and differs per call.
pub fn new_password() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "Quiet lantern {} over {} hills",
        unix_now() % 100_000,
        n + 7
    )
}

/// A running server (or two replicas behind a round-robin proxy); the
/// processes are killed when this is dropped.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`, no trailing slash (the proxy's, for replicas).
    pub base_url: String,
    /// The server's `--data-dir` (shared by the replicas: one outbox, one key file).
    pub data_dir: PathBuf,
    server_bin: PathBuf,
    children: Vec<harness::Server>,
    /// `--database-url URL` when the replicas share a PostgreSQL database.
    db_args: Vec<String>,
    /// The proxy in front of the replicas, if there are several.
    proxy: Option<RoundRobin>,
    http: reqwest::Client,
    /// Holds the data directory and the server's log until the test ends.
    root: TempDir,
}

/// Starts `kmc-server serve` on a fresh data directory and a free port, and
/// waits until it says it is listening.
pub fn spawn_app() -> TestApp {
    spawn(1)
}

/// Starts two `kmc-server serve` replicas on one database behind a
/// round-robin proxy that sends each request to the next replica, as a load
/// balancer would. The database is the PostgreSQL one `KMC_E2E_DATABASE_URL`
/// names (a fresh database: `cargo xtask test` makes one on its throwaway
/// cluster), else the SQLite file both replicas share in the data dir.
pub fn spawn_replicated_app() -> TestApp {
    spawn(2)
}

fn spawn(replicas: usize) -> TestApp {
    let server_bin = server_bin();
    let dist = dist_dir();
    let root = tempfile::Builder::new()
        .prefix("kmc-e2e-")
        .tempdir()
        .expect("a temporary directory can be created");
    let data_dir = root.path().join("data");
    let log_path = root.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("the server log can be created");
    let mut db_args = Vec::new();
    if replicas > 1
        && let Some(url) = std::env::var("KMC_E2E_DATABASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
    {
        db_args = vec!["--database-url".to_owned(), url];
    }
    let listener = (replicas > 1).then(RoundRobin::bind);
    let public_url = listener
        .as_ref()
        .map(|l| format!("http://{}", l.local_addr().expect("the proxy's address")));
    let mut children = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..replicas {
        let mut cmd = Command::new(&server_bin);
        // The access log (one line per answered request, see `requests_to`).
        cmd.env(
            "RUST_LOG",
            "info,sqlx=warn,tower_http=debug,kmc_server::web=debug",
        );
        cmd.arg("--data-dir")
            .arg(&data_dir)
            .args(&db_args)
            .args(["serve", "--listen", "127.0.0.1:0", "--dist"])
            .arg(&dist);
        if let Some(public) = &public_url {
            cmd.args(["--public-url", public]);
        }
        let (child, url) = start_server(cmd, &log, &log_path);
        children.push(child);
        urls.push(url);
    }
    let (base_url, proxy) = match listener {
        Some(listener) => {
            let upstreams = urls
                .iter()
                .map(|u| u.trim_start_matches("http://").to_owned())
                .collect();
            let proxy = RoundRobin::start(listener, upstreams);
            (format!("http://{}", proxy.addr), Some(proxy))
        }
        None => (urls.remove(0), None),
    };

    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("an HTTP client");
    TestApp {
        base_url,
        data_dir,
        server_bin,
        children,
        db_args,
        proxy,
        http,
        root,
    }
}

/// Spawns one server through the shared harness and waits until it answers; its stdout and
/// stderr go to the log. Returns the process and its base URL.
fn start_server(
    mut cmd: Command,
    log: &std::fs::File,
    log_path: &Path,
) -> (harness::Server, String) {
    cmd.stderr(Stdio::from(log.try_clone().expect("log handle")));
    match harness::start(
        cmd,
        Some(log.try_clone().expect("log handle")),
        START_TIMEOUT,
    ) {
        Ok(server) => {
            let url = server.url.clone();
            (server, url)
        }
        Err(e) => {
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            panic!("{e}; its output:\n{log}");
        }
    }
}

/// The server binary: `KMC_SERVER_BIN`, else the debug build in the target dir.
fn server_bin() -> PathBuf {
    let candidates: Vec<PathBuf> = match std::env::var_os("KMC_SERVER_BIN") {
        Some(p) => vec![PathBuf::from(p)],
        None => {
            let mut c = Vec::new();
            if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
                c.push(PathBuf::from(t).join("debug/kmc-server"));
            }
            c.push(workspace_root().join("target/debug/kmc-server"));
            c
        }
    };
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the kmc-server binary was not found (looked at {candidates:?}); build it with \
                 `cargo build -p kmc-server` or point KMC_SERVER_BIN at it"
            )
        })
}

/// The built app: `KMC_DIST`, else `<workspace>/dist`; it must hold `index.html`.
fn dist_dir() -> PathBuf {
    let dist = std::env::var_os("KMC_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("dist"));
    assert!(
        dist.join("index.html").is_file(),
        "no built app at {} (index.html missing); run `trunk build --release` at the \
         workspace root or point KMC_DIST at a built dist/",
        dist.display()
    );
    dist
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
    }
}

impl TestApp {
    /// Kills the server (the data directory stays), e.g. to make the network fail mid-flow.
    pub fn stop(&mut self) {
        // Dropping a harness server kills and reaps it.
        self.children.clear();
    }

    /// How many requests the proxy sent to each replica (empty for one server).
    pub fn requests_per_replica(&self) -> Vec<usize> {
        self.proxy
            .as_ref()
            .map(RoundRobin::counts)
            .unwrap_or_default()
    }

    /// The absolute URL of an app path such as `/login`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A plain GET of an app path, as a first visit without the app would send it.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// What the server has logged so far (for failure messages).
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("server.log")).unwrap_or_default()
    }

    /// How many requests to `service.action` of the API the server has answered so far,
    /// read from its access log: counted where they arrive, not where they are sent.
    pub fn requests_to(&self, service: &str, action: &str) -> usize {
        let path = format!("path=/api_v3/service/{service}/action/{action}}}");
        self.server_log()
            .lines()
            .filter(|line| line.contains("finished processing request") && line.contains(&path))
            .count()
    }

    // ---- the operator's CLI, on the same data directory -------------------

    /// Runs `kmc-server --data-dir D ARGS…` with optional stdin; returns stdout,
    /// panics with stderr when the command fails.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut child = Command::new(&self.server_bin)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.db_args)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run kmc-server {args:?}: {e}"));
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            pipe.write_all(input.as_bytes())
                .expect("stdin accepts input");
            pipe.write_all(b"\n").expect("stdin accepts input");
        }
        let out = child.wait_with_output().expect("the CLI finishes");
        // Only the command name in the message: arguments may carry test secrets.
        assert!(
            out.status.success(),
            "`kmc-server {}` failed ({}): {}",
            args.first().copied().unwrap_or(""),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("the CLI prints UTF-8")
    }

    /// `partner add --name NAME [--two-factor]`; returns the new partner id.
    pub fn add_partner(&self, name: &str, two_factor: bool) -> i64 {
        let mut args = vec!["partner", "add", "--name", name];
        if two_factor {
            args.push("--two-factor");
        }
        let out = self.cli(&args, None);
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("`partner add` printed {out:?}, not an id alone"))
    }

    /// `user add --partner ID --email E --admin --first-name F --last-name L`,
    /// with `--password-stdin` when a password is given.
    pub fn add_user(
        &self,
        partner_id: i64,
        email: &str,
        first: &str,
        last: &str,
        password: Option<&str>,
    ) {
        let partner = partner_id.to_string();
        let mut args = vec![
            "user",
            "add",
            "--partner",
            &partner,
            "--email",
            email,
            "--admin",
            "--first-name",
            first,
            "--last-name",
            last,
        ];
        if password.is_some() {
            args.push("--password-stdin");
        }
        self.cli(&args, password);
    }

    /// `partner set-2fa --partner ID on|off`.
    pub fn set_two_factor(&self, partner_id: i64, on: bool) {
        let partner = partner_id.to_string();
        self.cli(
            &[
                "partner",
                "set-2fa",
                "--partner",
                &partner,
                if on { "on" } else { "off" },
            ],
            None,
        );
    }

    /// `user expire-password --email E`.
    pub fn expire_password(&self, email: &str) {
        self.cli(&["user", "expire-password", "--email", email], None);
    }

    /// A password-only account with one admin login, "Ada Lovelace".
    pub fn password_only_account(&self, partner_name: &str, email: &str) -> Account {
        let partner_id = self.add_partner(partner_name, false);
        let password = new_password();
        self.add_user(partner_id, email, "Ada", "Lovelace", Some(&password));
        Account {
            partner_id,
            partner_name: partner_name.to_owned(),
            email: email.to_owned(),
            password,
            full_name: "Ada Lovelace".into(),
            authenticator: None,
        }
    }

    /// A 2FA account with one admin login, "Grace Hopper", whose authenticator
    /// is set up the way a user does it: the emailed QR link's hash key is
    /// spent through `user.generateQrCode` and the returned URI is scanned.
    pub async fn two_factor_account(&self, partner_name: &str, email: &str) -> Account {
        let partner_id = self.add_partner(partner_name, true);
        let password = new_password();
        self.add_user(partner_id, email, "Grace", "Hopper", Some(&password));
        let link = self.wait_for_link(email, LinkKind::AuthInfo, 0).await;
        let uri = self
            .generate_qr_code(&link.hash_key)
            .await
            .unwrap_or_else(|e| panic!("generateQrCode refused a fresh link: {}", e.code));
        Account {
            partner_id,
            partner_name: partner_name.to_owned(),
            email: email.to_owned(),
            password,
            full_name: "Grace Hopper".into(),
            authenticator: Some(Authenticator::from_uri(&uri)),
        }
    }

    // ---- the outbox --------------------------------------------------------

    /// `<data-dir>/outbox`.
    pub fn outbox(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// Every email written so far, oldest first.
    pub fn all_emails(&self) -> Vec<Email> {
        mail::all(&self.outbox())
    }

    /// The emails addressed to `email`, oldest first.
    pub fn emails_to(&self, email: &str) -> Vec<Email> {
        mail::to(&self.outbox(), email)
    }

    /// Waits until `email` has more than `seen` messages, then returns the
    /// `kind` link of the newest one.
    pub async fn wait_for_link(&self, email: &str, kind: LinkKind, seen: usize) -> Link {
        let deadline = Instant::now() + MAIL_TIMEOUT;
        loop {
            let messages = self.emails_to(email);
            if messages.len() > seen {
                let newest = messages.last().expect("non-empty");
                let (url, hash_key) = newest.link(kind.prefix()).unwrap_or_else(|| {
                    panic!(
                        "the newest email to {email} ({}) has no {} link",
                        newest.path.display(),
                        kind.prefix()
                    )
                });
                assert!(
                    url.starts_with(&self.base_url),
                    "the emailed link should start with the public URL {}",
                    self.base_url
                );
                return Link { url, hash_key };
            }
            assert!(
                Instant::now() < deadline,
                "no new email to {email} in {} within {MAIL_TIMEOUT:?} ({} already there)",
                self.outbox().display(),
                seen
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // ---- the API, called directly -----------------------------------------

    /// Posts one action with a JSON body (`Content-Type: application/json`)
    /// and decodes the reply; transport failures and garbled replies panic.
    pub async fn api(
        &self,
        service: &str,
        action: &str,
        params: Value,
    ) -> Result<Value, KalturaApiError> {
        let response = self
            .http
            .post(self.url(&action_path(service, action)))
            .header("Content-Type", "application/json")
            .body(params.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{service}.{action} could not reach the server: {e}"));
        let body = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("{service}.{action}: unreadable body: {e}"));
        // The wire types' rule decides value or error, as in the app; the
        // tests then read the value with serde_json's richer API.
        match decode_reply::<serde_json::Value>(&body) {
            Ok(value) => Ok(value),
            Err(ReplyError::Api(e)) => Err(e),
            Err(ReplyError::Garbled(why)) => panic!("{service}.{action}: garbled reply: {why}"),
        }
    }

    /// `user.generateQrCode`: the otpauth URI (and the link is spent).
    pub async fn generate_qr_code(&self, hash_key: &str) -> Result<String, KalturaApiError> {
        let v = self
            .api("user", "generateQrCode", json!({ "hashKey": hash_key }))
            .await?;
        Ok(v.as_str()
            .expect("generateQrCode returns a string")
            .to_owned())
    }

    /// `user.loginByLoginId`: the KS.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        otp: &str,
        partner_id: Option<i64>,
    ) -> Result<String, KalturaApiError> {
        let mut params = json!({ "loginId": email, "password": password, "otp": otp });
        if let Some(id) = partner_id {
            params["partnerId"] = json!(id);
        }
        let v = self.api("user", "loginByLoginId", params).await?;
        Ok(v.as_str().expect("a KS is a string").to_owned())
    }

    /// `user.get` for the KS's user.
    pub async fn get_user(&self, ks: &str) -> Result<Value, KalturaApiError> {
        self.api("user", "get", json!({ "ks": ks })).await
    }

    // ---- ageing rows in the database --------------------------------------

    /// Puts every link token's expiry in the past.
    pub async fn expire_link_tokens(&self) -> u64 {
        self.age("link_tokens").await
    }

    /// Puts every session's expiry in the past.
    pub async fn expire_sessions(&self) -> u64 {
        self.age("sessions").await
    }

    async fn age(&self, table: &str) -> u64 {
        use sqlx::ConnectOptions;
        let path: &Path = &self.data_dir.join("kmc.sqlite3");
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .busy_timeout(Duration::from_secs(10))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        let past = unix_now() as i64 - 3600;
        // The table name comes from this module only, never from input.
        let result = sqlx::query(&format!("UPDATE {table} SET expires_at = ?1"))
            .bind(past)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot age {table}: {e}"));
        result.rows_affected()
    }
}
