//! `kmc-server`: a Kaltura API v3 compatible sign-in server for KMC Login.
//!
//! Serves:
//! - [`router`]: the HTTP application (`/api_v3/service/{service}/action/{action}`,
//!   `GET /healthz`, and the built app from `--dist`), built from an
//!   [`AppState`] so tests can drive it with `oneshot` and no socket;
//! - [`serve_with`]: runs a router on a bound listener;
//! - [`admin`]: the operator commands (partners, users, 2FA, demo data,
//!   the help desk's commands, backups);
//! - [`api`]: the handlers, one module per Kaltura service, and the one
//!   table of actions;
//! - [`auth`]: the security mechanisms and the sign-in service
//!   ([`auth::signin`]); [`store`]: the database; [`mail`]: the outbox /
//!   SMTP and the messages; [`background`]: work done after a reply;
//!   [`prune`]: the deletion of rows that no longer matter;
//!   [`clock`]: injectable time;
//! - [`metrics`]: the Prometheus series and the `/metrics` endpoint;
//!   [`audit`]: the security events of the audit log.

pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
pub mod background;
pub mod clock;
pub mod error;
pub mod mail;
pub mod metrics;
pub mod net;
pub mod params;
pub mod prune;
pub mod store;
pub mod web;

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::store::Pool;
use axum::Router;
use axum::response::IntoResponse as _;

use crate::auth::lockout::{Limits, Proof};
use crate::auth::passwords::{DEFAULT_MAX_QUEUE, HashCost, Hasher};
use crate::auth::rate_limit::ResetLimiter;
use crate::auth::throttle::{ClientLimits, ClientThrottle};
use crate::clock::{Clock, SystemClock};
use crate::mail::Mailer;
use crate::net::TrustedProxies;

/// The key file's name beside the database, used when no
/// `--secret-key-file` is given.
pub const KEY_FILE: &str = "secret.key";
/// Settings key under which `serve` records its public URL for the CLI.
pub const PUBLIC_URL_SETTING: &str = "public_url";
/// The public URL the CLI assumes before any `serve` has recorded one.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// Everything needed to build an [`AppState`].
pub struct Options {
    /// Folder holding the database, the key file and the outbox.
    pub data_dir: PathBuf,
    /// The database: SQLite in `data_dir` unless it names a PostgreSQL
    /// server; and the connection pool's limits.
    pub db: store::DbConfig,
    /// Key file for TOTP secrets; default `<data_dir>/secret.key`.
    pub secret_key_file: Option<PathBuf>,
    /// The settings that shape answers, which the state keeps.
    pub config: Config,
    /// argon2id cost.
    pub hash_cost: HashCost,
    /// Requests that may wait for a hashing thread; past it sign-in answers
    /// `RESOURCE_IS_RESERVED` at once.
    pub max_hash_queue: usize,
    /// Per-client limits on password checks.
    pub client_limits: ClientLimits,
    /// Send mail over SMTP instead of writing the outbox.
    pub smtp_url: Option<String>,
    /// A file whose first line is the SMTP password (else `KMC_SMTP_PASSWORD`).
    pub smtp_password_file: Option<PathBuf>,
    /// PEM certificates of a private CA the SMTP relay's certificate chains to.
    pub smtp_ca_file: Option<PathBuf>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
}

impl Options {
    /// Production defaults for a data dir.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            db: store::DbConfig::default(),
            secret_key_file: None,
            config: Config::default(),
            hash_cost: HashCost::OWASP,
            max_hash_queue: DEFAULT_MAX_QUEUE,
            client_limits: ClientLimits::default(),
            smtp_url: None,
            smtp_password_file: None,
            smtp_ca_file: None,
            clock: Arc::new(SystemClock),
        }
    }
}

/// Settings that shape answers.
pub struct Config {
    /// The issuer in otpauth URIs (shown by authenticator apps).
    pub issuer: String,
    /// Base of the links in emails (a trailing slash is dropped).
    pub public_url: String,
    /// Whether login errors are masked (Kaltura's default).
    pub mask_login_errors: bool,
    /// Lockout limits.
    pub limits: Limits,
    /// The sender of every message.
    pub mail_from: String,
    /// The built app to serve, if any.
    pub dist: Option<PathBuf>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// Longest a request may take, from its headers to its answer.
    pub request_timeout: std::time::Duration,
}

impl Default for Config {
    /// Production defaults.
    fn default() -> Self {
        Self {
            issuer: "Kaltura".into(),
            public_url: DEFAULT_PUBLIC_URL.into(),
            mask_login_errors: true,
            limits: Limits::default(),
            mail_from: "KMC Login <noreply@localhost>".into(),
            dist: None,
            trusted_proxies: TrustedProxies::default(),
            request_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// The shared state behind every request.
pub struct Inner {
    /// The database: every commit synced before it is answered.
    pub pool: Pool,
    /// The same database for the two commits of a sign-in whose loss in a
    /// power cut is on the safe side (its reservation and a password-only
    /// success), not synced on their own ([`store::Unsynced`]).
    pub unsynced: store::Unsynced,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Answer-shaping settings.
    pub config: Config,
    /// Password hashing (one thread per CPU, bounded queue).
    pub hasher: Hasher,
    /// TOTP secret encryption, with the key the database has now.
    pub secrets: auth::keys::Keys,
    /// Outgoing mail.
    pub mailer: Mailer,
    /// Work done after the reply (mail), finished before a shutdown.
    pub background: background::Background,
    /// `resetPassword` limits.
    pub reset_limiter: ResetLimiter,
    /// Per-client limits on password checks.
    pub client_throttle: Arc<ClientThrottle>,
    /// The Prometheus series (no-ops unless `--metrics-listen` installed a
    /// recorder before the state was built).
    pub metrics: crate::metrics::Metrics,
}

impl Inner {
    /// The connection a right password's acceptance and its session commit
    /// on: unsynced for a password alone (lost in a power cut, it signs its
    /// holder out and brings back failures it forgave, both on the safe
    /// side), synced when it records a code's step, which must never work
    /// again.
    pub async fn success_conn(&self, proof: Proof) -> sqlx::Result<store::Lease<'_>> {
        match proof {
            Proof::Password => self.unsynced.acquire().await,
            Proof::Code { .. } => Ok(self.pool.acquire().await?.into()),
        }
    }
}

/// Cheaply cloneable handle on [`Inner`].
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Opens the database (applying migrations), the key file and the mailer.
    pub async fn open(opts: Options) -> anyhow::Result<Self> {
        let pool = store::open(&opts.data_dir, &opts.db).await?;
        let unsynced = store::open_unsynced(&opts.db, &pool).await?;
        let key_file = opts
            .secret_key_file
            .clone()
            .unwrap_or_else(|| opts.data_dir.join(KEY_FILE));
        let secrets = auth::keys::Keys::open(&pool, key_file).await?;
        let mailer = match &opts.smtp_url {
            Some(url) => {
                let ca_pem = match &opts.smtp_ca_file {
                    Some(file) => Some(mail::smtp::read_ca_file(file)?),
                    None => None,
                };
                Mailer::smtp(
                    &mail::SmtpUrl::parse(url)?,
                    mail::smtp_password(opts.smtp_password_file.as_deref())?,
                    ca_pem.as_deref(),
                )?
            }
            None => Mailer::outbox(opts.data_dir.join("outbox"))?,
        };
        Ok(Self(Arc::new(Inner {
            pool,
            unsynced,
            clock: opts.clock,
            config: Config {
                public_url: opts.config.public_url.trim_end_matches('/').to_owned(),
                ..opts.config
            },
            hasher: Hasher::with_queue(opts.hash_cost, opts.max_hash_queue)?,
            secrets,
            mailer,
            background: background::Background::default(),
            reset_limiter: ResetLimiter::default(),
            client_throttle: Arc::new(ClientThrottle::new(opts.client_limits)),
            metrics: crate::metrics::Metrics::register(),
        })))
    }

    /// The current time (unix seconds) from the injected clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// When (now) and from where (`client`) an event a notice reports
    /// happened, and the sign-in page that notices point to for help.
    pub fn occasion(&self, client: Option<std::net::IpAddr>) -> mail::Occasion {
        mail::Occasion {
            at: self.now(),
            from: client,
            sign_in_url: format!("{}/login", self.config.public_url),
        }
    }

    /// The full URL of a link token.
    pub fn link_url(&self, kind: auth::links::Kind, token: &str) -> String {
        format!("{}{}{}", self.config.public_url, kind.path(), token)
    }
}

/// The whole HTTP application: the API, the built app, and the headers
/// every response carries.
pub fn router(state: AppState) -> Router {
    let dist = state.config.dist.clone();
    let health = Router::new()
        .route("/healthz", axum::routing::get(healthz))
        .with_state(state.clone());
    let timeout = state.config.request_timeout;
    let hsts = web::wants_hsts(&state.config.public_url);
    let app = web::with_layers_hsts(api::router(state).merge(health), dist.as_deref(), hsts);
    app.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| async move {
            match tokio::time::timeout(timeout, next.run(req)).await {
                Ok(resp) => resp,
                Err(_) => error::ApiError::new(
                    kaltura_api::codes::RESOURCE_IS_RESERVED,
                    "The request took too long: try again in a moment",
                )
                .into_response(),
            }
        },
    ))
}

/// `GET /healthz` for load balancers and scripts: `200 ok` once the
/// database answers, `503` while it does not.
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (
    axum::http::StatusCode,
    [(axum::http::HeaderName, &'static str); 1],
    &'static str,
) {
    use axum::http::{StatusCode, header};
    let ok = store::ping(&state.pool).await;
    let headers = [(header::CACHE_CONTROL, "no-store")];
    if ok {
        (StatusCode::OK, headers, "ok\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            headers,
            "database unavailable\n",
        )
    }
}

/// Serves `router` on `listener` with `limits` until the process is
/// interrupted (Ctrl-C or SIGTERM; requests in flight are finished first),
/// passing the client address to handlers.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: net::ConnLimits,
) -> std::io::Result<()> {
    net::serve(listener, router, limits, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}

/// The data dir's database path (for messages).
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(store::DB_FILE)
}
