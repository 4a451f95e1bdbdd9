//! A throwaway PostgreSQL cluster for `cargo xtask test` (and the bench): initdb in a temporary
//! folder, `pg_ctl start` on a free loopback port, and on drop `pg_ctl stop` and the folder
//! removed. No test depends on a server someone else started.
//!
//! initdb refuses to run as root (CI runs as root), so then the cluster belongs to the
//! unprivileged `postgres` user (`nobody` where there is none), started through `runuser`. It
//! listens on 127.0.0.1 only, with `trust` for the `kmc` superuser: nothing off the machine can
//! reach it, and it lives only as long as the run. Debian's `postgresql` package is installed
//! through apt when its binaries are missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::ctx::{self, Ctx};

/// A running cluster, stopped and removed on drop.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    owner: Option<&'static str>,
    port: u16,
    /// `postgres://kmc@127.0.0.1:<port>/postgres`: the server; tests create their databases on it.
    pub url: String,
}

/// How the cluster trades durability for speed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync off: the tests' data is thrown away, and CI time matters.
    Throwaway,
    /// PostgreSQL's defaults (fsync on, synchronous commit): what a deployment runs, for figures.
    Durable,
}

/// The folder of Debian's PostgreSQL server binaries (the newest major version installed).
fn find_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

/// The server binaries, installing Debian's `postgresql` when they are missing.
fn ensure_bin(ctx: &Ctx) -> Result<PathBuf, String> {
    if let Some(bin) = find_bin() {
        return Ok(bin);
    }
    if !ctx::is_root() {
        return Err(
            "PostgreSQL is not installed: `apt-get install -y postgresql` (as root), \
                    then rerun"
                .into(),
        );
    }
    println!("PostgreSQL is missing: installing Debian's `postgresql` through apt");
    ctx::run_status(ctx.cmd("apt-get").arg("update"))?;
    ctx::run_status(
        ctx.cmd("apt-get")
            .args(["install", "-y", "--no-install-recommends", "postgresql"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    find_bin().ok_or_else(|| "apt-get finished but PostgreSQL's initdb is still missing".into())
}

/// A port nothing listens on now (the cluster takes it a moment later).
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

fn user_exists(name: &str) -> bool {
    std::fs::read_to_string("/etc/passwd")
        .map(|p| p.lines().any(|l| l.split(':').next() == Some(name)))
        .unwrap_or(false)
}

impl Cluster {
    /// initdb + pg_ctl start in `$TMPDIR/kmc-pg-<pid>-<label>`.
    pub fn start(ctx: &Ctx, label: &str, durability: Durability) -> Result<Self, String> {
        let bin = ensure_bin(ctx)?;
        let owner = ctx::is_root().then(|| {
            if user_exists("postgres") {
                "postgres"
            } else {
                "nobody"
            }
        });
        let dir = std::env::temp_dir().join(format!("kmc-pg-{}-{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut cluster = Self {
            bin,
            dir,
            owner,
            port: 0,
            url: String::new(),
        };
        if let Some(owner) = owner {
            ctx::run_status(
                Command::new("chown")
                    .arg(format!("{owner}:"))
                    .arg(&cluster.dir),
            )?;
        }
        let data = cluster.dir.join("data");
        let log = cluster.dir.join("log");
        let mut initdb = cluster.as_owner(cluster.bin.join("initdb"));
        run_quiet(
            initdb.arg("-D").arg(&data).args([
                "-U",
                "kmc",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ]),
            &cluster.dir.join("initdb.log"),
        )?;
        let port = free_port()?;
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c max_connections=300",
            cluster.dir.display()
        );
        if durability == Durability::Throwaway {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let mut pg_ctl = cluster.as_owner(cluster.bin.join("pg_ctl"));
        pg_ctl
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o", &options, "start"]);
        if let Err(e) = run_quiet(&mut pg_ctl, &cluster.dir.join("pg_ctl.log")) {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("{e}\n{log}"));
        }
        cluster.port = port;
        cluster.url = format!("postgres://kmc@127.0.0.1:{port}/postgres");
        println!(
            "PostgreSQL cluster on 127.0.0.1:{port} in {}",
            cluster.dir.display()
        );
        Ok(cluster)
    }

    /// Creates the database `name` (letters, digits, `_`) and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String, String> {
        let port = self.port.to_string();
        run_quiet(
            Command::new(self.bin.join("psql")).args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "kmc",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                &format!("CREATE DATABASE {name}"),
            ]),
            &self.dir.join("psql.log"),
        )?;
        Ok(format!("postgres://kmc@127.0.0.1:{port}/{name}"))
    }

    /// `program` run as the cluster's owner (through runuser when we are root).
    fn as_owner(&self, program: PathBuf) -> Command {
        match self.owner {
            Some(owner) => {
                let mut c = Command::new("runuser");
                c.args(["-u", owner, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }
}

/// Runs a command with its output in `log`; the log's tail in the error.
fn run_quiet(cmd: &mut Command, log: &Path) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start `{}`: {e}", ctx::display(cmd)))?;
    let mut text = out.stdout;
    text.extend_from_slice(&out.stderr);
    let _ = std::fs::write(log, &text);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed ({}): {}",
            ctx::display(cmd),
            out.status,
            String::from_utf8_lossy(&text)
        ))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let mut stop = self.as_owner(self.bin.join("pg_ctl"));
        stop.arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = stop.status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
