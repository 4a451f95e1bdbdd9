//! The `kmc-server` binary as the CLI tests run it: one command at a time
//! ([`run`]), or `serve` until dropped ([`Serve`]), each on the PostgreSQL
//! pass given a database of its own per data dir ([`db_args`]).

use std::io::Write as _;
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_kmc-server");

/// On the PostgreSQL pass (`KMC_TEST_DATABASE_URL`): `--database-url` of a
/// fresh database per data dir named in `args`, the same one for every
/// command on that data dir. Otherwise nothing (SQLite in the data dir).
pub fn db_args(args: &[&str]) -> Vec<String> {
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

/// Runs one command to its end, `stdin` written to it: (success, stdout,
/// stderr).
pub fn run(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
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

/// [`run`] on the data dir `dir`: `kmc-server --data-dir DIR <args>`.
pub fn run_in(dir: &str, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    run(&[&["--data-dir", dir][..], args].concat(), stdin)
}

/// [`run_in`], which must succeed: (stdout, stderr).
pub fn run_ok(dir: &str, args: &[&str], stdin: Option<&str>) -> (String, String) {
    let (ok, stdout, stderr) = run_in(dir, args, stdin);
    assert!(ok, "kmc-server {args:?}: {stderr}");
    (stdout, stderr)
}

/// The TOTP time step of now.
pub fn now_step() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(now).unwrap() / kmc_server::auth::totp::STEP
}

/// Every line of the outbox of data dir `dir` holding a link to `path`.
pub fn outbox_links(dir: &std::path::Path, path: &str) -> Vec<String> {
    let mut out = vec![];
    for text in super::eml_texts(&dir.join("outbox")) {
        out.extend(
            text.lines()
                .filter(|l| l.contains(path))
                .map(|l| l.trim().to_owned()),
        );
    }
    out
}

/// A `kmc-server serve` on `127.0.0.1:0` over `dir`, with what it printed
/// before it was ready; killed and reaped when dropped (by the harness).
pub struct Serve {
    _server: harness::Server,
    pub url: String,
    addr: String,
    pub demo_login: Option<String>,
    pub qr_link: Option<String>,
}

impl Serve {
    pub fn start(dir: &str, demo: bool) -> Self {
        Self::start_with(dir, demo, &[])
    }

    /// [`Serve::start`] with more options, global or `serve`'s own.
    pub fn start_with(dir: &str, demo: bool, extra: &[&str]) -> Self {
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
        // After `serve`: global flags are taken there too, and serve's own only there.
        args.extend_from_slice(extra);
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
    pub fn addr(&self) -> &str {
        &self.addr
    }
}

/// POSTs `body` (JSON) to `path` over a fresh connection; the status line
/// and the reply's body.
pub fn http_exchange(addr: &str, path: &str, body: &str) -> (String, String) {
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
    let status = out.lines().next().unwrap_or_default().to_owned();
    (status, out.rsplit("\r\n\r\n").next().unwrap().to_owned())
}

/// The body of [`http_exchange`].
pub fn http_post(addr: &str, path: &str, body: &str) -> String {
    http_exchange(addr, path, body).1
}

/// Calls one API action on `addr`; the reply as JSON.
pub fn api(addr: &str, service: &str, action: &str, body: &serde_json::Value) -> serde_json::Value {
    let reply = http_post(
        addr,
        &format!("/api_v3/service/{service}/action/{action}?format=1"),
        &body.to_string(),
    );
    serde_json::from_str(&reply).unwrap_or_else(|_| panic!("not JSON: {reply}"))
}
