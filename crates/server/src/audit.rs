//! The audit log: one tracing event per security event, at target `audit`,
//! level INFO, with a stable `event` name and only bounded, non-secret
//! fields (`login_id`, `partner_id`, `client`, `reason`, `kind`, `by`).
//! With `serve --log-format json` each is one JSON object on its own line.
//!
//! The names are an interface operators alert on, listed in the server's
//! README; every event is written here, so the list and the code agree.
//! Never an email, password, code, secret, otpauth URI, link token or KS:
//! an email may be anyone's typo, and the rest would let a log reader sign in.

use std::net::IpAddr;

use crate::auth::links::Kind;
use crate::metrics::{SigninOutcome, kind_label};

/// `signin.succeeded` or `signin.failed` (with the outcome as `reason`).
/// `login_id` is absent when no login has the email.
pub fn signin(login_id: Option<i64>, client: Option<IpAddr>, outcome: SigninOutcome) {
    let client = client.map(tracing::field::display);
    if outcome == SigninOutcome::SignedIn {
        tracing::info!(target: "audit", event = "signin.succeeded", login_id, client);
    } else {
        let reason = outcome.label();
        tracing::info!(target: "audit", event = "signin.failed", login_id, client, reason);
    }
}

/// `login.blocked`: a failed check spent the login's budget (once per block).
pub fn login_blocked(login_id: i64) {
    tracing::info!(target: "audit", event = "login.blocked", login_id);
}

/// `code.replay_refused`: a code whose time step was already used.
pub fn code_replay_refused(login_id: i64) {
    tracing::info!(target: "audit", event = "code.replay_refused", login_id);
}

/// `password.changed`, `kind` = `account_page` | `reset_link`.
pub fn password_changed(login_id: i64, client: Option<IpAddr>, kind: &'static str) {
    let client = client.map(tracing::field::display);
    tracing::info!(target: "audit", event = "password.changed", login_id, client, kind);
}

/// `link.issued`, `kind` = `enroll` | `reset`.
pub fn link_issued(login_id: i64, kind: Kind) {
    let kind = kind_label(kind);
    tracing::info!(target: "audit", event = "link.issued", login_id, kind);
}

/// `link.used`.
pub fn link_used(login_id: i64, client: Option<IpAddr>, kind: Kind) {
    let (client, kind) = (client.map(tracing::field::display), kind_label(kind));
    tracing::info!(target: "audit", event = "link.used", login_id, client, kind);
}

/// `link.refused`, `reason` = `invalid` (unknown or used) | `expired`.
pub fn link_refused(client: Option<IpAddr>, kind: Kind, reason: &'static str) {
    let (client, kind) = (client.map(tracing::field::display), kind_label(kind));
    tracing::info!(target: "audit", event = "link.refused", client, kind, reason);
}

/// `authenticator.enrolled`, `kind` = `qr_link` (a secret handed over
/// through the QR link) | `reset_link` (a new secret with a password set
/// through a link).
pub fn authenticator_enrolled(login_id: i64, client: Option<IpAddr>, kind: &'static str) {
    let client = client.map(tracing::field::display);
    tracing::info!(target: "audit", event = "authenticator.enrolled", login_id, client, kind);
}

/// `twofa.enabled` / `twofa.disabled` for an account, by an operator.
pub fn two_factor(partner_id: i64, on: bool) {
    if on {
        tracing::info!(target: "audit", event = "twofa.enabled", partner_id, by = "cli");
    } else {
        tracing::info!(target: "audit", event = "twofa.disabled", partner_id, by = "cli");
    }
}

/// `session.ended`: a user logged out (`session.end`).
pub fn session_ended(login_id: i64, client: Option<IpAddr>) {
    let client = client.map(tracing::field::display);
    tracing::info!(target: "audit", event = "session.ended", login_id, client);
}

/// `session.revoked`: an operator ended `count` sessions of a login
/// (`user end-sessions`, `reset-2fa`, `remove`).
pub fn sessions_revoked(login_id: i64, count: u64) {
    tracing::info!(target: "audit", event = "session.revoked", login_id, count, by = "cli");
}

/// `login.unblocked`: an operator lifted a block (`user unblock`).
pub fn login_unblocked(login_id: i64) {
    tracing::info!(target: "audit", event = "login.unblocked", login_id, by = "cli");
}

/// `twofa.reset`: an operator voided a login's authenticator (`user reset-2fa`).
pub fn two_factor_reset(login_id: i64) {
    tracing::info!(target: "audit", event = "twofa.reset", login_id, by = "cli");
}

/// `login.removed`: from one account (`partner_id`) or, without it, the
/// whole login (`user remove`).
pub fn login_removed(login_id: i64, partner_id: Option<i64>) {
    tracing::info!(target: "audit", event = "login.removed", login_id, partner_id, by = "cli");
}

/// `key.rotated`: `count` secrets re-sealed under a new key (`rotate-key`).
pub fn key_rotated(count: u64) {
    tracing::info!(target: "audit", event = "key.rotated", count, by = "cli");
}
