//! Prometheus metrics: the names, their bounded labels, and the scrape
//! endpoint that `serve --metrics-listen` serves on its own listener.
//!
//! Recording goes through the `metrics` facade. Every series is registered
//! once, when the state is built ([`Metrics::register`]), and kept as a
//! handle, so recording on a request is an atomic add on a handle (no key
//! lookup, no allocation, no lock of ours). Without a recorder installed
//! ([`install`] is only called for `--metrics-listen`) the handles do
//! nothing. Labels come from fixed lists only ([`SigninOutcome`], the
//! action table, link kinds): never an email, an address, a KS or any value
//! a client chooses.

use std::time::Duration;

use ::metrics::{Counter, Gauge, Histogram, counter, describe_counter, describe_gauge, gauge};
use ::metrics::{describe_histogram, histogram};
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;
use crate::auth::links::Kind;

/// How a sign-in (`user.loginByLoginId`) ended: the `outcome` label of
/// `kmc_signins_total` and the `reason` of the `signin.failed` audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigninOutcome {
    /// A KS was issued.
    SignedIn,
    /// A wrong password for a login that exists.
    WrongPassword,
    /// A wrong or replayed authenticator code.
    WrongCode,
    /// The right password on a 2FA account, without a code.
    CodeNeeded,
    /// The login is blocked (or this guess spent its budget and blocked it).
    Blocked,
    /// Refused at once: the hashing queue was full.
    Busy,
    /// Refused at once: this client spent its budget of failed checks.
    Throttled,
    /// No login has this email.
    UnknownLogin,
    /// The right password, but it has expired and must be changed.
    PasswordExpired,
    /// Anything else (an account the login is not in, a database error).
    Other,
}

impl SigninOutcome {
    /// Every outcome, in label order.
    pub const ALL: [Self; 10] = [
        Self::SignedIn,
        Self::WrongPassword,
        Self::WrongCode,
        Self::CodeNeeded,
        Self::Blocked,
        Self::Busy,
        Self::Throttled,
        Self::UnknownLogin,
        Self::PasswordExpired,
        Self::Other,
    ];

    /// The label value (and audit `reason`).
    pub fn label(self) -> &'static str {
        match self {
            Self::SignedIn => "signed_in",
            Self::WrongPassword => "wrong_password",
            Self::WrongCode => "wrong_code",
            Self::CodeNeeded => "code_needed",
            Self::Blocked => "blocked",
            Self::Busy => "busy",
            Self::Throttled => "throttled",
            Self::UnknownLogin => "unknown_login",
            Self::PasswordExpired => "password_expired",
            Self::Other => "other",
        }
    }
}

/// The `kind` label of a link: `enroll` (the QR link) or `reset` (the
/// set-password link).
pub fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Qr => "enroll",
        Kind::Reset => "reset",
    }
}

/// The `action` label of a request to no action in the table.
pub const UNKNOWN_ACTION: &str = "unknown";

/// Per link kind: enroll, reset.
type ByKind = [Counter; 2];

fn by_kind(name: &'static str) -> ByKind {
    [Kind::Qr, Kind::Reset].map(|k| counter!(name, "kind" => kind_label(k)))
}

fn kind_index(kind: Kind) -> usize {
    match kind {
        Kind::Qr => 0,
        Kind::Reset => 1,
    }
}

/// The handles of every series the server records.
pub struct Metrics {
    signins: [Counter; SigninOutcome::ALL.len()],
    code_replays_refused: Counter,
    logins_blocked: Counter,
    links_used: ByKind,
    links_refused: ByKind,
    reset_requests: [Counter; 2],
    sessions_opened: Counter,
    sessions_ended: Counter,
    /// One per entry of [`crate::api::ACTIONS`], then [`UNKNOWN_ACTION`].
    requests: Vec<Histogram>,
    hash_queue_depth: Gauge,
    db_connections_in_use: Gauge,
    db_connections_idle: Gauge,
}

impl Metrics {
    /// Registers every series with the installed recorder (none: handles
    /// that do nothing).
    pub fn register() -> Self {
        describe();
        // Registered at 0 before the first mail; [`mail_done`] counts.
        for outcome in MAIL_OUTCOMES {
            let _ = counter!("kmc_mails_total", "outcome" => outcome);
        }
        let requests = crate::api::actions()
            .map(|(service, action)| format!("{service}.{action}"))
            .chain([UNKNOWN_ACTION.to_owned()])
            .map(|action| histogram!("kmc_request_duration_seconds", "action" => action))
            .collect();
        Self {
            signins: SigninOutcome::ALL
                .map(|o| counter!("kmc_signins_total", "outcome" => o.label())),
            code_replays_refused: counter!("kmc_code_replays_refused_total"),
            logins_blocked: counter!("kmc_logins_blocked_total"),
            links_used: by_kind("kmc_links_used_total"),
            links_refused: by_kind("kmc_links_refused_total"),
            reset_requests: ["accepted", "rate_limited"]
                .map(|o| counter!("kmc_reset_requests_total", "outcome" => o)),
            sessions_opened: counter!("kmc_sessions_opened_total"),
            sessions_ended: counter!("kmc_sessions_ended_total"),
            requests,
            hash_queue_depth: gauge!("kmc_hash_queue_depth"),
            db_connections_in_use: gauge!("kmc_db_connections", "state" => "in_use"),
            db_connections_idle: gauge!("kmc_db_connections", "state" => "idle"),
        }
    }

    /// A sign-in ended with `outcome`.
    pub fn signin(&self, outcome: SigninOutcome) {
        self.signins[outcome as usize].increment(1);
    }

    /// A replayed authenticator code was refused.
    pub fn code_replay_refused(&self) {
        self.code_replays_refused.increment(1);
    }

    /// A login became blocked.
    pub fn login_blocked(&self) {
        self.logins_blocked.increment(1);
    }

    /// A link was used (`true`) or refused.
    pub fn link(&self, kind: Kind, used: bool) {
        let set = if used {
            &self.links_used
        } else {
            &self.links_refused
        };
        set[kind_index(kind)].increment(1);
    }

    /// A `resetPassword` request was accepted or dropped by its limits.
    pub fn reset_request(&self, accepted: bool) {
        self.reset_requests[usize::from(!accepted)].increment(1);
    }

    /// A session (KS) was created.
    pub fn session_opened(&self) {
        self.sessions_opened.increment(1);
    }

    /// A session was ended by its holder (`session.end`).
    pub fn session_ended(&self) {
        self.sessions_ended.increment(1);
    }

    /// A request to the action at `index` of [`crate::api::ACTIONS`] (`None`:
    /// no such action) was answered after `took`.
    pub fn request(&self, index: Option<usize>, took: Duration) {
        let last = self.requests.len() - 1;
        let i = index.filter(|&i| i < last).unwrap_or(last);
        self.requests[i].record(took);
    }
}

const MAIL_OUTCOMES: [&str; 2] = ["sent", "failed"];

/// A mail was sent (or written to the outbox), or failed. Mail goes out
/// after the reply, off the hot path: the series is looked up each time.
pub fn mail_done(sent: bool) {
    counter!("kmc_mails_total", "outcome" => MAIL_OUTCOMES[usize::from(!sent)]).increment(1);
}

fn describe() {
    describe_counter!(
        "kmc_signins_total",
        "Sign-ins (user.loginByLoginId) by outcome."
    );
    describe_counter!(
        "kmc_code_replays_refused_total",
        "Authenticator codes refused because their time step was already used."
    );
    describe_counter!("kmc_logins_blocked_total", "Logins that became blocked.");
    describe_counter!(
        "kmc_links_used_total",
        "QR (enroll) and set-password (reset) links used."
    );
    describe_counter!(
        "kmc_links_refused_total",
        "Links refused: unknown, used or expired."
    );
    describe_counter!(
        "kmc_reset_requests_total",
        "resetPassword requests: accepted, or dropped by the rate limit."
    );
    describe_counter!(
        "kmc_mails_total",
        "Mails sent (or written to the outbox) and failed."
    );
    describe_counter!("kmc_sessions_opened_total", "Sessions (KSs) created.");
    describe_counter!("kmc_sessions_ended_total", "Sessions ended by session.end.");
    describe_histogram!(
        "kmc_request_duration_seconds",
        ::metrics::Unit::Seconds,
        "API requests from their start to their answer, by action."
    );
    describe_histogram!(
        "kmc_hash_queue_wait_seconds",
        ::metrics::Unit::Seconds,
        "Time a password hash waited for a hashing thread."
    );
    describe_gauge!(
        "kmc_hash_queue_depth",
        "Requests holding a hashing place (hashing or waiting), at scrape time."
    );
    describe_gauge!(
        "kmc_db_connections",
        "Database connections of the pool by state, at scrape time."
    );
    describe_gauge!("kmc_db_connections_max", "Most connections the pool opens.");
}

/// Buckets of the `_seconds` histograms: from a cached answer (~100 µs) to
/// a request timeout (30 s); an argon2id sign-in takes ~20 ms alone.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Installs the Prometheus recorder as the process's global one; call it
/// before [`AppState::open`] so that its handles record. Errors if a
/// recorder is already installed.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    Ok(PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)?
        .install_recorder()?)
}

/// The metrics listener's application: `GET /metrics` in Prometheus text
/// format, with the gauges read from the state at scrape time.
pub fn router(state: AppState, handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        axum::routing::get(move || async move {
            let m = &state.metrics;
            m.hash_queue_depth.set(state.hasher.admitted() as f64);
            let size = state.pool.size();
            let idle = state.pool.num_idle() as u32;
            m.db_connections_in_use
                .set(f64::from(size.saturating_sub(idle)));
            m.db_connections_idle.set(f64::from(idle));
            gauge!("kmc_db_connections_max")
                .set(f64::from(state.pool.options().get_max_connections()));
            handle.run_upkeep();
            (
                [(
                    axum::http::header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                handle.render(),
            )
        }),
    )
}
