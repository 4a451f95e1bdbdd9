//! The `kmc-server` command line. Only argument parsing and printing live
//! here; everything else is in the library.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::time::Duration;

use kmc_server::auth::lockout::Limits;
use kmc_server::auth::throttle::ClientLimits;
use kmc_server::net::{ConnLimits, TrustedProxies};
use kmc_server::{AppState, DEFAULT_PUBLIC_URL, Options, PUBLIC_URL_SETTING, admin, store};

/// Kaltura API v3 compatible sign-in server for KMC Login.
#[derive(Parser)]
#[command(name = "kmc-server", version, about)]
struct Cli {
    /// Folder holding the database, the key file and the outbox.
    #[arg(long, global = true, env = "KMC_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Key file for the TOTP secrets (default: <data-dir>/secret.key, created 0600).
    /// Every replica on one database must use the same key.
    #[arg(long, global = true, env = "KMC_SECRET_KEY_FILE")]
    secret_key_file: Option<PathBuf>,
    /// A shared PostgreSQL database (postgres://user@host:port/db; the
    /// password from the URL, PGPASSWORD-style, is never printed). Without
    /// it, SQLite in the data dir.
    #[arg(long, global = true, env = "KMC_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Most database connections this process opens (on SQLite, one more
    /// carries a sign-in's unsynced commits).
    #[arg(
        long,
        global = true,
        env = "KMC_DB_MAX_CONNECTIONS",
        default_value_t = 8
    )]
    db_max_connections: u32,
    /// Seconds a query may wait for a database connection before it fails.
    #[arg(
        long,
        global = true,
        env = "KMC_DB_ACQUIRE_TIMEOUT_SECS",
        default_value_t = 10
    )]
    db_acquire_timeout_secs: u64,
    /// Seconds an idle database connection is kept open.
    #[arg(
        long,
        global = true,
        env = "KMC_DB_IDLE_TIMEOUT_SECS",
        default_value_t = 600
    )]
    db_idle_timeout_secs: u64,
    /// Send mail over SMTP instead of writing <data-dir>/outbox:
    /// smtps://[user@]host[:465] | smtp://[user@]host[:587] (STARTTLS required;
    /// plain to loopback) | smtp+plain://host[:25]. The password comes from
    /// KMC_SMTP_PASSWORD or --smtp-password-file, never from the URL.
    #[arg(long, global = true, env = "KMC_SMTP_URL")]
    smtp_url: Option<String>,
    /// A file whose first line is the SMTP password (else the password is
    /// read from KMC_SMTP_PASSWORD, whose value is never printed).
    #[arg(long, global = true, env = "KMC_SMTP_PASSWORD_FILE")]
    smtp_password_file: Option<PathBuf>,
    /// PEM certificates of a private CA to trust for the SMTP relay.
    #[arg(long, global = true, env = "KMC_SMTP_CA_FILE")]
    smtp_ca_file: Option<PathBuf>,
    /// Sender address of every message.
    #[arg(
        long,
        global = true,
        env = "KMC_MAIL_FROM",
        default_value = "KMC Login <noreply@localhost>"
    )]
    mail_from: String,
    /// For load tests only: hash new passwords with a tiny argon2id cost
    /// (64 KiB, one pass) that offers no protection. Hidden from --help.
    #[arg(long, global = true, hide = true, env = "KMC_INSECURE_TEST_HASH_COST")]
    insecure_test_hash_cost: bool,
    /// Log lines as text for people, or one JSON object per line for log
    /// collectors (the audit events' fields at the top level).
    #[arg(long, global = true, env = "KMC_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the built app.
    Serve(ServeArgs),
    /// Manage accounts (partners).
    Partner {
        #[command(subcommand)]
        command: PartnerCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Re-seal every TOTP secret under a new key, in one transaction.
    RotateKey(RotateKeyArgs),
    /// Write a consistent copy of the SQLite database (while `serve` runs).
    Backup(BackupArgs),
}

#[derive(Args)]
struct RotateKeyArgs {
    /// A file of exactly 32 random bytes (`head -c 32 /dev/urandom`).
    #[arg(long)]
    new_key_file: PathBuf,
}

#[derive(Args)]
struct BackupArgs {
    /// The copy to write; an existing file is never overwritten.
    #[arg(long)]
    to: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Table,
    Json,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KMC_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// The built app folder.
    #[arg(long, env = "KMC_DIST", default_value = "dist")]
    dist: PathBuf,
    /// Public address for links in emails (default: the listening address).
    #[arg(long, env = "KMC_PUBLIC_URL")]
    public_url: Option<String>,
    /// Issuer name shown by authenticator apps.
    #[arg(long, env = "KMC_ISSUER", default_value = "Kaltura")]
    issuer: String,
    /// Seed demo accounts on an empty data dir and print the demo login.
    #[arg(long, env = "KMC_DEMO")]
    demo: bool,
    /// Pass real login error codes through (masking is on by default).
    #[arg(long, env = "KMC_REVEAL_LOGIN_ERRORS")]
    reveal_login_errors: bool,
    /// Consecutive failures that block a login.
    #[arg(long, env = "KMC_MAX_LOGIN_ATTEMPTS", default_value_t = 10)]
    max_login_attempts: i64,
    /// Minutes a blocked login stays blocked.
    #[arg(long, env = "KMC_LOGIN_BLOCK_MINUTES", default_value_t = 15)]
    login_block_minutes: i64,
    /// Failed password or code checks allowed per client address (IPv6: per
    /// /64) in the window below; past it that client's sign-ins and password
    /// changes are refused without hashing.
    #[arg(long, env = "KMC_MAX_CLIENT_FAILURES", default_value_t = 50)]
    max_client_failures: usize,
    /// The per-client window, in minutes.
    #[arg(long, env = "KMC_CLIENT_WINDOW_MINUTES", default_value_t = 15)]
    client_window_minutes: i64,
    /// A proxy (address or CIDR) whose X-Forwarded-For names the client;
    /// repeat for several (in the variable: separated by commas). Without
    /// it, the peer address is the client.
    #[arg(
        long = "trusted-proxy",
        value_name = "CIDR",
        env = "KMC_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<String>,
    /// Seconds a client may take to send a request's headers (and an idle
    /// keep-alive connection may stay open).
    #[arg(long, env = "KMC_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    header_read_timeout_secs: u64,
    /// Seconds a request may take from its headers to its answer.
    #[arg(long, env = "KMC_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    request_timeout_secs: u64,
    /// Connections open at once; past it new ones are closed at once.
    #[arg(long, env = "KMC_MAX_CONNECTIONS", default_value_t = 4096)]
    max_connections: usize,
    /// Sign-ins that may wait for a password-hashing thread; past it they are
    /// answered RESOURCE_IS_RESERVED at once.
    #[arg(
        long,
        env = "KMC_MAX_HASH_QUEUE",
        default_value_t = kmc_server::auth::passwords::DEFAULT_MAX_QUEUE
    )]
    max_hash_queue: usize,
    /// Seconds between two prunings of sessions ended or expired (each kept
    /// this long after its end), expired links and ended request limits.
    #[arg(long, env = "KMC_PRUNE_INTERVAL_SECS",
          default_value_t = kmc_server::prune::DEFAULT_INTERVAL.as_secs())]
    prune_interval_secs: u64,
    /// Serve Prometheus metrics at /metrics on this address (a listener of
    /// its own, never the public one; off without it).
    #[arg(long, env = "KMC_METRICS_LISTEN", value_name = "ADDR")]
    metrics_listen: Option<String>,
}

/// How log lines are written.
#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Subcommand)]
enum PartnerCommand {
    /// Create an account; prints its id alone.
    Add {
        #[arg(long)]
        name: String,
        /// Require authenticator codes for this account.
        #[arg(long)]
        two_factor: bool,
    },
    /// Turn two-factor sign-in on or off; `on` emails a QR link to each user
    /// without an authenticator and a notice to the others.
    #[command(name = "set-2fa")]
    Set2fa {
        #[arg(long)]
        partner: i64,
        state: OnOff,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum OnOff {
    On,
    Off,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user to an account (the same email on another account joins its login).
    Add {
        #[arg(long)]
        partner: i64,
        #[arg(long)]
        email: String,
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
        /// Read the password from stdin (otherwise a set-password link is emailed).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Expire a login's password: its next sign-in must change it.
    ExpirePassword {
        #[arg(long)]
        email: String,
    },
    #[command(flatten)]
    Helpdesk(HelpdeskCommand),
}

/// The help desk's `user` commands.
#[derive(Subcommand)]
enum HelpdeskCommand {
    /// List logins: accounts and roles, enrolled, 2FA, last sign-in, block.
    List {
        /// Only the logins in this account.
        #[arg(long)]
        partner: Option<i64>,
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// Lift a login's block and clear its failure counters.
    Unblock {
        #[arg(long)]
        email: String,
    },
    /// Lost phone: a new secret, every session ended, a new QR link emailed.
    #[command(name = "reset-2fa")]
    Reset2fa {
        #[arg(long)]
        email: String,
    },
    /// End every session of a login.
    EndSessions {
        #[arg(long)]
        email: String,
    },
    /// Remove a login (with its sessions and links), or with --partner only
    /// its membership in that account.
    Remove {
        #[arg(long)]
        email: String,
        #[arg(long)]
        partner: Option<i64>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Everything the server writes (database, key file, outbox) is for its
    // own user alone.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    // Half as many async workers as CPUs: the hashing threads keep every
    // CPU busy under load, and the HTTP, JSON and database hand-offs of a
    // sign-in are a few percent of its CPU. On 2 cores, 1 worker instead of
    // 2 took them from 0.70 to 0.56 ms per sign-in (fewer wake-ups and no
    // work-stealing between workers).
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads((cores / 2).max(1))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kmc-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kmc-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn db_config(cli: &Cli) -> store::DbConfig {
    store::DbConfig {
        url: cli.database_url.clone().filter(|u| !u.trim().is_empty()),
        max_connections: cli.db_max_connections,
        acquire_timeout: Duration::from_secs(cli.db_acquire_timeout_secs),
        idle_timeout: Duration::from_secs(cli.db_idle_timeout_secs),
    }
}

fn options(cli: &Cli) -> Options {
    let mut o = Options::new(&cli.data_dir);
    o.db = db_config(cli);
    o.secret_key_file = cli.secret_key_file.clone();
    o.smtp_url = cli.smtp_url.clone();
    o.smtp_password_file = cli.smtp_password_file.clone();
    o.smtp_ca_file = cli.smtp_ca_file.clone();
    o.config.mail_from = cli.mail_from.clone();
    if cli.insecure_test_hash_cost {
        eprintln!(
            "kmc-server: --insecure-test-hash-cost: passwords hashed now are NOT protected \
             (for load tests only)"
        );
        o.hash_cost = kmc_server::auth::passwords::HashCost::TEST;
    }
    o
}

/// State for the CLI commands: links point where `serve` last said it is.
async fn cli_state(cli: &Cli) -> anyhow::Result<AppState> {
    let pool = store::open(&cli.data_dir, &db_config(cli)).await?;
    let public_url = store::setting(&pool, PUBLIC_URL_SETTING)
        .await?
        .unwrap_or_else(|| DEFAULT_PUBLIC_URL.into());
    pool.close().await;
    let mut o = options(cli);
    o.config.public_url = public_url;
    AppState::open(o).await
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if !matches!(cli.command, Command::Serve(_)) {
        // An operator command writes its audit events (and warnings) only.
        init_tracing(cli.log_format, "warn,audit=info");
    }
    match &cli.command {
        Command::Serve(args) => serve(&cli, args).await,
        Command::Partner { command } => {
            let state = cli_state(&cli).await?;
            match command {
                PartnerCommand::Add { name, two_factor } => {
                    let id = admin::add_partner(&state, name, *two_factor).await?;
                    println!("{id}");
                }
                PartnerCommand::Set2fa { partner, state: on } => {
                    let on = matches!(on, OnOff::On);
                    let done = admin::set_two_factor(&state, *partner, on).await?;
                    if on {
                        eprintln!(
                            "account {partner}: two-factor on; {} QR link(s) and {} notice(s) \
                             emailed; {} session(s) without a code ended",
                            done.qr_links, done.notices, done.sessions_ended
                        );
                    } else {
                        eprintln!("account {partner}: two-factor off");
                    }
                }
            }
            Ok(())
        }
        Command::User { command } => {
            let state = cli_state(&cli).await?;
            match command {
                UserCommand::Add {
                    partner,
                    email,
                    admin: is_admin,
                    first_name,
                    last_name,
                    password_stdin,
                } => {
                    let password = if *password_stdin {
                        let mut s = String::new();
                        std::io::stdin().read_to_string(&mut s)?;
                        let pw = s.trim_end_matches(['\r', '\n']).to_owned();
                        anyhow::ensure!(!pw.is_empty(), "no password on stdin");
                        Some(pw)
                    } else {
                        None
                    };
                    let added = admin::add_user(
                        &state,
                        *partner,
                        email,
                        *is_admin,
                        first_name.as_deref(),
                        last_name.as_deref(),
                        password.as_deref(),
                    )
                    .await?;
                    if added.joined_existing_login && password.is_some() {
                        eprintln!("{email} already had a login: it keeps its password");
                    }
                    if added.emailed_link.is_some() {
                        eprintln!("an email with a link was written for {email}");
                    }
                }
                UserCommand::ExpirePassword { email } => {
                    admin::expire_password(&state, email).await?;
                }
                UserCommand::Helpdesk(command) => helpdesk(&state, command).await?,
            }
            Ok(())
        }
        Command::RotateKey(args) => rotate_key(&cli, args).await,
        Command::Backup(args) => {
            let pool = store::open(&cli.data_dir, &db_config(&cli)).await?;
            admin::backup::backup(&pool, &args.to).await?;
            eprintln!(
                "database copied to {}; keep a copy of the key file with it",
                args.to.display()
            );
            Ok(())
        }
    }
}

/// The help desk's `user` commands.
async fn helpdesk(state: &AppState, command: &HelpdeskCommand) -> anyhow::Result<()> {
    use admin::helpdesk;
    match command {
        HelpdeskCommand::List { partner, format } => {
            let logins = helpdesk::list(state, *partner).await?;
            match format {
                ListFormat::Table => print!("{}", helpdesk::table(&logins)),
                ListFormat::Json => println!("{}", serde_json::to_string_pretty(&logins)?),
            }
        }
        HelpdeskCommand::Unblock { email } => {
            helpdesk::unblock(state, email).await?;
            eprintln!("{email}: unblocked, failure counters cleared");
        }
        HelpdeskCommand::Reset2fa { email } => {
            let done = helpdesk::reset_two_factor(state, email).await?;
            eprintln!(
                "{email}: authenticator reset (old codes no longer work); {} session(s) ended; \
                 a new QR link was emailed",
                done.sessions_ended
            );
        }
        HelpdeskCommand::EndSessions { email } => {
            let ended = helpdesk::end_sessions(state, email).await?;
            eprintln!("{email}: {ended} session(s) ended");
        }
        HelpdeskCommand::Remove { email, partner } => {
            match helpdesk::remove(state, email, *partner).await? {
                helpdesk::Removed::Login => {
                    eprintln!("{email}: login removed, with its sessions and links");
                }
                helpdesk::Removed::Membership { last } => {
                    let partner = partner.unwrap_or_default();
                    eprintln!("{email}: removed from account {partner}; its sessions there ended");
                    if last {
                        eprintln!(
                            "{email} is in no account now: the login is kept but can sign in \
                             nowhere (`user remove --email {email}` deletes it)"
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// `rotate-key`: re-seals every secret under the new key, reporting progress.
async fn rotate_key(cli: &Cli, args: &RotateKeyArgs) -> anyhow::Result<()> {
    let state = cli_state(cli).await?;
    let new = kmc_server::auth::crypto::SecretBox::load(&args.new_key_file)?;
    let count = kmc_server::auth::keys::rotate(
        &state.pool,
        &state.secrets.current().secrets,
        &new,
        |done, total| {
            if done == 0 {
                eprintln!("rotate-key: re-sealing {total} secret(s)");
            } else {
                eprintln!("rotate-key: {done}/{total} secret(s) re-sealed");
            }
        },
    )
    .await?;
    let current = cli
        .secret_key_file
        .clone()
        .unwrap_or_else(|| cli.data_dir.join(kmc_server::KEY_FILE));
    eprintln!(
        "rotate-key: committed: {count} secret(s) now sealed under {new_key}; the old key opens \
         nothing. Move {new_key} over every replica's key file ({old} here): running \
         replicas take it up at their next use of a secret",
        new_key = args.new_key_file.display(),
        old = current.display()
    );
    Ok(())
}

/// Binds the address without listening yet: the port is known (for the
/// public URL when it is 0) but connections are refused until [`serve`]
/// has opened the database and calls `listen`, so nothing connects to a
/// server that cannot answer.
async fn bind(listen: &str) -> anyhow::Result<tokio::net::TcpSocket> {
    let addr = tokio::net::lookup_host(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot resolve {listen}: {e}"))?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{listen} resolves to no address"))?;
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket
        .bind(addr)
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    Ok(socket)
}

async fn serve(cli: &Cli, args: &ServeArgs) -> anyhow::Result<()> {
    init_tracing(cli.log_format, "info,sqlx=warn");
    let socket = bind(&args.listen).await?;
    let addr = socket.local_addr()?;
    // The recorder goes in before the state registers its series.
    let metrics = match &args.metrics_listen {
        Some(listen) => Some((kmc_server::metrics::install()?, bind(listen).await?)),
        None => None,
    };
    let url = format!("http://{addr}");
    let mut o = options(cli);
    o.config.public_url = args.public_url.clone().unwrap_or_else(|| url.clone());
    o.config.issuer = args.issuer.clone();
    o.config.mask_login_errors = !args.reveal_login_errors;
    anyhow::ensure!(
        args.max_login_attempts >= 1,
        "--max-login-attempts must be at least 1"
    );
    anyhow::ensure!(
        args.login_block_minutes >= 1,
        "--login-block-minutes must be at least 1"
    );
    o.config.limits = Limits {
        max_attempts: args.max_login_attempts,
        block_seconds: args.login_block_minutes * 60,
    };
    anyhow::ensure!(
        args.max_client_failures >= 1 && args.client_window_minutes >= 1,
        "--max-client-failures and --client-window-minutes must be at least 1"
    );
    o.client_limits = ClientLimits {
        max_failures: args.max_client_failures,
        window_seconds: args.client_window_minutes * 60,
        ..ClientLimits::default()
    };
    o.config.trusted_proxies =
        TrustedProxies::parse(&args.trusted_proxies).map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        args.header_read_timeout_secs >= 1 && args.request_timeout_secs >= 1,
        "--header-read-timeout-secs and --request-timeout-secs must be at least 1"
    );
    anyhow::ensure!(
        args.max_connections >= 1,
        "--max-connections must be at least 1"
    );
    o.config.request_timeout = Duration::from_secs(args.request_timeout_secs);
    o.max_hash_queue = args.max_hash_queue;
    let conn_limits = ConnLimits {
        header_read_timeout: Duration::from_secs(args.header_read_timeout_secs),
        max_connections: args.max_connections,
    };
    if args.dist.join("index.html").is_file() {
        o.config.dist = Some(args.dist.clone());
    } else {
        // Through the log, as every line `serve` writes to stderr (one
        // format for collectors).
        tracing::warn!(
            "no built app in {} (no index.html): serving the API only. \
             Build the app with `cargo xtask build` or `trunk build --release`.",
            args.dist.display()
        );
    }
    let public_url = o.config.public_url.clone();
    let outbox = o.smtp_url.is_none().then(|| o.data_dir.join("outbox"));
    let state = AppState::open(o).await?;
    if let Some(outbox) = outbox {
        tracing::warn!(
            "no --smtp-url: mail is written to {} as .eml files, not sent",
            outbox.display()
        );
    }
    store::set_setting(
        &state.pool,
        PUBLIC_URL_SETTING,
        public_url.trim_end_matches('/'),
    )
    .await?;
    if args.demo {
        match admin::seed_demo(&state).await? {
            Some(demo) => {
                println!("demo login: {} / {}", demo.email, demo.password);
                println!("demo QR link: {}", demo.qr_link);
            }
            None => tracing::warn!(
                "the data dir already has accounts and no demo login; \
                 demo data not seeded (use an empty --data-dir for the demo)"
            ),
        }
    }
    anyhow::ensure!(
        args.prune_interval_secs >= 1,
        "--prune-interval-secs must be at least 1"
    );
    kmc_server::prune::spawn(state.clone(), Duration::from_secs(args.prune_interval_secs));
    if let Some((handle, socket)) = metrics {
        serve_metrics(
            socket,
            addr,
            kmc_server::metrics::router(state.clone(), handle),
        )?;
    }
    let background = state.background.clone();
    let router = kmc_server::router(state);
    let listener = socket
        .listen(1024)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "kmc-server listening on {url}")?;
    out.flush()?;
    drop(out);
    kmc_server::serve_with(listener, router, conn_limits).await?;
    // Mail promised in replies already sent goes out before the process ends.
    if tokio::time::timeout(Duration::from_secs(30), background.idle())
        .await
        .is_err()
    {
        tracing::warn!("mail still being sent 30 s after shutdown began: stopping anyway");
    }
    Ok(())
}

/// Serves the metrics app on its own socket (never the public address
/// `public`) and prints its URL, before the public listener's ready line.
fn serve_metrics(
    socket: tokio::net::TcpSocket,
    public: std::net::SocketAddr,
    app: axum::Router,
) -> anyhow::Result<()> {
    let addr = socket.local_addr()?;
    anyhow::ensure!(
        addr != public,
        "--metrics-listen must be another address than --listen"
    );
    let listener = socket
        .listen(64)
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    tokio::spawn(kmc_server::net::serve(
        listener,
        app,
        ConnLimits::default(),
        std::future::pending(),
    ));
    println!("kmc-server metrics on http://{addr}/metrics");
    Ok(())
}

/// Logs to stderr (stdout carries only the lines scripts read), filtered by
/// `RUST_LOG` or else `default_filter`.
fn init_tracing(format: LogFormat, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    use std::io::IsTerminal as _;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        // Colours only on a terminal: redirected logs stay plain text.
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        // Flat records: an event's fields beside `timestamp`, `level` and
        // `target`, without the spans around it.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
    }
}
