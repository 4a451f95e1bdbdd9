//! Starting `kmc-server serve` for a harness: the server tests, the end-to-end suite and the
//! load and attack tools all start it here, so they agree on how readiness is seen.
//!
//! The caller builds the [`Command`] (binary, data folder, `serve` and its flags, stderr);
//! [`start`] pipes stdout, waits for the line the server prints once it listens, then for the
//! address to accept a connection, and keeps draining stdout so the server never blocks on a
//! full pipe. The returned [`Server`] kills the process when dropped.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The line `kmc-server serve` prints once it accepts connections, before its URL.
pub const READY_PREFIX: &str = "kmc-server listening on ";

/// The line `kmc-server serve --metrics-listen` prints before the ready line, before the
/// metrics URL.
pub const METRICS_PREFIX: &str = "kmc-server metrics on ";

/// A running `kmc-server serve`; SIGKILLed and reaped when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `http://HOST:PORT`, no trailing slash.
    pub url: String,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The lines it printed on stdout before it was ready (e.g. the `--demo` login).
    pub printed: Vec<String>,
}

impl Server {
    /// The address of the metrics listener (`--metrics-listen`), from the line it printed
    /// before it was ready; `None` without one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.printed.iter().find_map(|l| {
            let url = l.trim().strip_prefix(METRICS_PREFIX)?;
            parse_addr(url.strip_suffix("/metrics").unwrap_or(url)).ok()
        })
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// True while the process runs (a crash or an aborting panic ends it).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, as a crash would: nothing is flushed or closed. Waits for the process to end.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The exit status, once it has ended.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits for the process to end (after a SIGTERM sent with `kill -TERM` [`Server::id`], as
    /// an operator stops it) and returns its exit status.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        self.child.wait()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Spawns `cmd` (a `kmc-server … serve …` command) with stdout piped and stdin closed, waits
/// up to `timeout` for its ready line and for its address to accept a connection. The stdout
/// lines after the ready line are copied to `stdout_copy` when given, else discarded. On a
/// timeout or an early exit the process is killed and the error says which.
pub fn start(mut cmd: Command, stdout_copy: Option<File>, timeout: Duration) -> io::Result<Server> {
    let deadline = Instant::now() + timeout;
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("stdout was not piped"))?;
    let (tx, rx) = mpsc::channel::<(String, Vec<String>)>();
    std::thread::spawn(move || drain(stdout, tx, stdout_copy));

    let (url, printed) = match rx.recv_timeout(timeout) {
        Ok(ready) => ready,
        Err(why) => {
            let _ = child.kill();
            let status = child.wait()?;
            let message = match why {
                mpsc::RecvTimeoutError::Disconnected => {
                    format!(
                        "kmc-server ended its output ({status}) before printing `{READY_PREFIX}…`"
                    )
                }
                mpsc::RecvTimeoutError::Timeout => {
                    format!("kmc-server did not print `{READY_PREFIX}…` within {timeout:?}")
                }
            };
            return Err(io::Error::new(io::ErrorKind::TimedOut, message));
        }
    };
    let mut server = Server {
        child,
        addr: parse_addr(&url)?,
        url,
        printed,
    };
    let left = deadline.saturating_duration_since(Instant::now());
    TcpStream::connect_timeout(&server.addr, left.max(Duration::from_millis(100))).map_err(
        |e| {
            server.kill();
            io::Error::new(
                e.kind(),
                format!(
                    "kmc-server at {} does not accept connections: {e}",
                    server.url
                ),
            )
        },
    )?;
    Ok(server)
}

/// Reads stdout to its end: sends the URL of the ready line with the lines before it, then
/// copies the rest to `copy`.
fn drain(stdout: impl io::Read, tx: mpsc::Sender<(String, Vec<String>)>, mut copy: Option<File>) {
    let mut before = Vec::new();
    let mut ready = false;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if !ready {
            match ready_url(&line) {
                Some(url) => {
                    ready = true;
                    let _ = tx.send((url, std::mem::take(&mut before)));
                }
                None => before.push(line.clone()),
            }
        }
        if let Some(f) = copy.as_mut() {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// The URL (no trailing slash) of a ready line.
fn ready_url(line: &str) -> Option<String> {
    let url = line.trim().strip_prefix(READY_PREFIX)?;
    Some(url.trim().trim_end_matches('/').to_owned())
}

/// The socket address of `http://HOST:PORT`.
fn parse_addr(url: &str) -> io::Result<SocketAddr> {
    url.strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| io::Error::other(format!("cannot read a socket address from {url:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_gives_the_url_without_a_trailing_slash() {
        assert_eq!(
            ready_url("kmc-server listening on http://127.0.0.1:4321/\n").as_deref(),
            Some("http://127.0.0.1:4321")
        );
        assert_eq!(ready_url("demo login: a / b"), None);
    }

    #[test]
    fn an_http_url_parses_to_its_socket_address() {
        assert_eq!(
            parse_addr("http://127.0.0.1:8080").unwrap(),
            SocketAddr::from(([127, 0, 0, 1], 8080))
        );
        assert!(parse_addr("https://127.0.0.1:8080").is_err());
    }

    #[test]
    fn lines_before_the_ready_line_are_kept_and_the_rest_is_copied() {
        let out = "demo login: a / b\nkmc-server listening on http://127.0.0.1:1/\nlater\n";
        let (tx, rx) = mpsc::channel();
        let copy = tempfile_in_target();
        drain(out.as_bytes(), tx, Some(File::create(&copy).unwrap()));
        let (url, before) = rx.recv().unwrap();
        assert_eq!(url, "http://127.0.0.1:1");
        assert_eq!(before, ["demo login: a / b"]);
        let copied = std::fs::read_to_string(&copy).unwrap();
        assert!(copied.ends_with("later\n"), "{copied}");
        let _ = std::fs::remove_file(copy);
    }

    fn tempfile_in_target() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("harness-drain-{}", std::process::id()))
    }

    #[test]
    fn a_process_that_never_prints_the_ready_line_is_reported_and_killed() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo starting; exit 3"]);
        let e = start(cmd, None, Duration::from_secs(5)).unwrap_err();
        assert!(e.to_string().contains("before printing"), "{e}");
    }
}
