//! The sign-in service: the steps of `user.loginByLoginId`,
//! `adminUser.updatePassword` and `setInitialPassword`, called by their
//! handlers (which read the parameters and shape the reply) and by the CLI.
//!
//! A sign-in decides in Kaltura's order (`docs/kaltura.md`), with one deliberate
//! change: a blocked login is refused before its password is checked, so a
//! block never becomes a password oracle (the same hashing time is still
//! spent on a dummy hash, so the answer time does not reveal that the email
//! exists).
//!
//! Every check of a password or code is paid for twice before any work: a
//! place in the client's budget ([`super::throttle`]) and one in the login's
//! ([`super::lockout`]).

use kaltura_api::codes;
use kaltura_api::requests::LoginByLoginId;

use std::net::IpAddr;

use crate::AppState;
use crate::audit;
use crate::auth::links::{self, Kind, LinkError};
use crate::auth::lockout::{self, Failure, Proof, Reservation, Reserved, Success};
use crate::auth::throttle::ClientTicket;
use crate::auth::{enrol, passwords, sessions, totp};
use crate::error::{ApiError, ApiResult};
use crate::metrics::SigninOutcome;
use crate::store::{self, Login, Partner};

pub use crate::auth::lockout::Guess;

/// Codes a sign-in passes through while masking is on; every other
/// login-decision code goes out as the action's "wrong password".
const MASKED: &[&str] = &[
    codes::USER_NOT_FOUND,
    codes::LOGIN_DATA_NOT_FOUND,
    codes::LOGIN_BLOCKED,
    codes::LOGIN_RETRIES_EXCEEDED,
    codes::USER_IS_BLOCKED,
    codes::INVALID_PARTNER_ID,
];

/// The answers that mean a guess was wrong (or refused as part of one):
/// they keep the client's place in its budget as a failure.
const GUESS_FAILURES: &[&str] = &[
    codes::USER_WRONG_PASSWORD,
    codes::WRONG_OLD_PASSWORD,
    codes::INVALID_OTP,
    codes::USER_NOT_FOUND,
    codes::LOGIN_DATA_NOT_FOUND,
    codes::LOGIN_BLOCKED,
    codes::LOGIN_RETRIES_EXCEEDED,
];

/// `USER_WRONG_PASSWORD`: a sign-in's wrong email or password.
pub fn wrong_password() -> ApiError {
    ApiError::new(codes::USER_WRONG_PASSWORD, "Wrong username or password")
}

/// `WRONG_OLD_PASSWORD`: a password change's wrong current password.
pub fn wrong_old_password() -> ApiError {
    ApiError::new(codes::WRONG_OLD_PASSWORD, "The current password is wrong")
}

fn login_blocked() -> ApiError {
    ApiError::new(
        codes::LOGIN_BLOCKED,
        "This login is temporarily blocked after too many failed attempts",
    )
}

fn invalid_otp() -> ApiError {
    ApiError::new(codes::INVALID_OTP, "OTP provided failed to validate")
}

/// True for a valid email address of at most 254 characters (RFC 5321's
/// limit): the only strings a login can have, and the only ones allowed to
/// key any limit state.
pub fn is_email(s: &str) -> bool {
    let s = s.trim();
    s.len() <= 254 && s.parse::<lettre::Address>().is_ok()
}

/// Masks a login error when the operator has not asked to reveal them.
pub fn mask(state: &AppState, e: ApiError, replacement: fn() -> ApiError) -> ApiError {
    if state.config.mask_login_errors && MASKED.contains(&e.code()) {
        replacement()
    } else {
        e
    }
}

/// Reserves a place in the budget of password checks of the client
/// `client` (keyed by [`crate::net::client_key`]), or answers
/// `RESOURCE_IS_RESERVED` when it is spent. Without a known client (tests
/// through the router) nothing is limited.
fn client_ticket(state: &AppState, client: Option<IpAddr>) -> ApiResult<Option<ClientTicket>> {
    let Some(ip) = client else {
        return Ok(None);
    };
    match state
        .client_throttle
        .reserve(&crate::net::client_key(ip), state.now())
    {
        Some(ticket) => Ok(Some(ticket)),
        None => {
            tracing::info!("password check refused by the per-client limit");
            Err(ApiError::new(
                codes::RESOURCE_IS_RESERVED,
                "Too many failed sign-in attempts from your network: try again later",
            ))
        }
    }
}

/// Resolves a client ticket by an outcome: a wrong password or code
/// (whatever the masking) keeps the place as a failure, anything else gives
/// it back.
fn finish_ticket<T>(ticket: Option<ClientTicket>, result: &ApiResult<T>) {
    if let Some(ticket) = ticket {
        let failed = result
            .as_ref()
            .err()
            .is_some_and(|e| GUESS_FAILURES.contains(&e.code()));
        ticket.finish(failed);
    }
}

/// Counts a failed check and picks the answer: the failure's own error
/// below the limit, `LOGIN_RETRIES_EXCEEDED` for the check that spent the
/// budget. The one failure that set the block also has the login's owner
/// told, by a mail sent in the background: the answer, and its timing, are
/// the same as for any other failure that spends the budget.
pub async fn count_failure(
    state: &AppState,
    r: Reservation,
    guess: Guess,
    own: ApiError,
) -> ApiResult<ApiError> {
    let (login_id, client) = (r.login_id(), r.client());
    Ok(
        match lockout::fail(&state.pool, r, guess, state.now(), state.config.limits).await? {
            Failure::Counted => own,
            outcome @ (Failure::LimitReached | Failure::Blocked) => {
                // Only the failure that set the block counts it, logs it and
                // mails the owner: once per block, however many race.
                if outcome == Failure::Blocked {
                    state.metrics.login_blocked();
                    audit::login_blocked(login_id);
                    notify_blocked(state, login_id, client);
                }
                ApiError::new(
                    codes::LOGIN_RETRIES_EXCEEDED,
                    "Too many failed attempts: this login is blocked for a while",
                )
            }
        },
    )
}

/// Mails the owner of a login that has just been blocked, after the reply.
fn notify_blocked(state: &AppState, login_id: i64, client: Option<IpAddr>) {
    let task_state = state.clone();
    let occasion = state.occasion(client);
    state.background.spawn(async move {
        let state = task_state;
        let sent = async {
            let Some(login) = store::login_by_id(&state.pool, login_id).await? else {
                return Ok(());
            };
            let minutes = state.config.limits.block_seconds / 60;
            let mail = crate::mail::blocked_notice(&login.email, minutes, &occasion);
            state.mailer.send(&state.config.mail_from, mail).await
        };
        if let Err(e) = sent.await {
            tracing::error!(error = %e, "sending the blocked-login notice failed");
        }
    });
}

/// Checks the login's password. A check is reserved from the login's guess
/// budget before the hash is computed; a blocked login, or one whose budget
/// is spent by checks in flight, is refused without checking (but after the
/// same hashing time, as is an unknown login, so the answer time does not
/// tell that the email exists). On a wrong password the check stays counted
/// and `wrong` is the error below the limit. Returns the login, its
/// accounts (oldest first) and the reservation, which the caller must
/// resolve ([`prove`] then [`lockout::succeed`], [`accept`], or
/// [`lockout::give_back`]). `seen` is set to the login's id once it is
/// known, whatever the outcome (for the audit log).
pub async fn check_password(
    state: &AppState,
    client: Option<IpAddr>,
    email: &str,
    password: &str,
    wrong: fn() -> ApiError,
    seen: &mut Option<i64>,
) -> ApiResult<(Login, Vec<Partner>, Reservation)> {
    // A place in the hashing queue first: past it, a fast "busy" answer,
    // before any guess budget is touched.
    let _admission = state.hasher.admit()?;
    // One statement reads the login and its accounts and reserves the
    // check (unsynced: lost in a power cut, it gives a guess back); the
    // connection is given back before the hash.
    let mut conn = state.unsynced.acquire().await?;
    let reserved =
        lockout::reserve_for_email(&mut conn, email, state.now(), state.config.limits).await?;
    drop(conn);
    let (login, partners, r) = match reserved {
        Reserved::Check(login, partners, r) => (*login, partners, r.from_client(client)),
        refused => {
            state.hasher.verify(None, password).await?;
            return Err(match refused {
                Reserved::Blocked(id) => {
                    *seen = Some(id);
                    login_blocked()
                }
                _ => wrong(),
            });
        }
    };
    *seen = Some(login.id);
    if !state
        .hasher
        .verify(login.password_hash.as_deref(), password)
        .await?
    {
        return Err(count_failure(state, r, Guess::Password, wrong()).await?);
    }
    Ok((login, partners, r))
}

/// What a right password still needs: with `needs_code`, an authenticator
/// code checked on the reservation of that password check. Empty →
/// `MISSING_OTP` (the reservation is given back, nothing is forgiven);
/// wrong → `INVALID_OTP` (counted as a code failure); right → its time
/// step, for [`lockout::succeed`] to record.
pub async fn prove(
    state: &AppState,
    login: &Login,
    r: Reservation,
    needs_code: bool,
    otp: Option<&str>,
) -> ApiResult<(Reservation, Proof)> {
    if !needs_code {
        return Ok((r, Proof::Password));
    }
    let otp = otp.unwrap_or_default();
    if otp.trim().is_empty() {
        lockout::give_back(&state.pool, r).await?;
        return Err(ApiError::new(codes::MISSING_OTP, "OTP is missing"));
    }
    let step = match &login.totp_secret {
        Some(sealed) => {
            let secret = state
                .secrets
                .open_secret(&state.pool, login.id, sealed)
                .await?;
            totp::matching_step(&secret, otp, state.now())
        }
        None => None,
    };
    match step {
        Some(step) => Ok((r, Proof::Code { step })),
        None => Err(count_failure(state, r, Guess::Code, invalid_otp()).await?),
    }
}

/// Accepts a right password (and code, see [`prove`]) on its own
/// connection: the counter is reset as far as the proof allows, in one
/// statement that also refuses a blocked login and a replayed step.
pub async fn accept(
    state: &AppState,
    login: &Login,
    r: Reservation,
    needs_code: bool,
    otp: Option<&str>,
) -> ApiResult<()> {
    let (r, proof) = prove(state, login, r, needs_code, otp).await?;
    let mut conn = state.pool.acquire().await?;
    let outcome = lockout::succeed(&mut conn, &r, proof, None, state.now()).await?;
    drop(conn);
    match outcome {
        Success::Accepted => Ok(()),
        refused => Err(refusal(state, r, refused).await?),
    }
}

/// The answer to a refused [`lockout::succeed`]: a login blocked meanwhile
/// answers `LOGIN_BLOCKED`; a replayed step is counted as a code failure.
/// Called with no transaction open, since counting writes.
async fn refusal(state: &AppState, r: Reservation, refused: Success) -> ApiResult<ApiError> {
    Ok(match refused {
        Success::Replay => {
            state.metrics.code_replay_refused();
            audit::code_replay_refused(r.login_id());
            count_failure(state, r, Guess::Code, invalid_otp()).await?
        }
        Success::Blocked | Success::Accepted => login_blocked(),
    })
}

/// `user.loginByLoginId`: a KS for a right email, password (and code, on a
/// 2FA account), from the client address `client` (limited by its key, see
/// [`client_ticket`]). Errors are masked unless the operator reveals them.
/// Every outcome is counted (`kmc_signins_total`) and written to the audit
/// log.
pub async fn sign_in(
    state: &AppState,
    client: Option<IpAddr>,
    req: &LoginByLoginId,
) -> ApiResult<String> {
    let record = |login_id, outcome| {
        state.metrics.signin(outcome);
        audit::signin(login_id, client, outcome);
    };
    if !is_email(&req.login_id) {
        // No login can have it: refused before any state or hashing.
        record(None, SigninOutcome::UnknownLogin);
        return Err(wrong_password());
    }
    let ticket = client_ticket(state, client).inspect_err(|_| {
        record(None, SigninOutcome::Throttled);
    })?;
    let mut login_id = None;
    let result = sign_in_checked(state, client, req, &mut login_id).await;
    finish_ticket(ticket, &result);
    record(login_id, outcome_of(&result, login_id.is_some()));
    result.map_err(|e| mask(state, e, wrong_password))
}

/// The outcome of a sign-in past the client's limit, from its unmasked
/// answer; `known`: the email is a login's.
fn outcome_of(result: &ApiResult<String>, known: bool) -> SigninOutcome {
    let Err(e) = result else {
        return SigninOutcome::SignedIn;
    };
    match e.code() {
        codes::USER_WRONG_PASSWORD if known => SigninOutcome::WrongPassword,
        codes::USER_WRONG_PASSWORD => SigninOutcome::UnknownLogin,
        codes::INVALID_OTP => SigninOutcome::WrongCode,
        codes::MISSING_OTP => SigninOutcome::CodeNeeded,
        codes::LOGIN_BLOCKED | codes::LOGIN_RETRIES_EXCEEDED => SigninOutcome::Blocked,
        codes::RESOURCE_IS_RESERVED => SigninOutcome::Busy,
        codes::PASSWORD_EXPIRED => SigninOutcome::PasswordExpired,
        _ => SigninOutcome::Other,
    }
}

async fn sign_in_checked(
    state: &AppState,
    client: Option<IpAddr>,
    req: &LoginByLoginId,
    seen: &mut Option<i64>,
) -> ApiResult<String> {
    let (login, partners, r) = check_password(
        state,
        client,
        &req.login_id,
        &req.password,
        wrong_password,
        seen,
    )
    .await?;
    let target = match req.partner_id {
        Some(id) => partners.iter().find(|p| p.id == id).ok_or_else(|| {
            ApiError::new(
                codes::INVALID_PARTNER_ID,
                format!("Invalid partner id {id}"),
            )
        }),
        None => login
            .last_partner_id
            .and_then(|last| partners.iter().find(|p| p.id == last))
            .or_else(|| partners.first())
            .ok_or_else(|| ApiError::new(codes::USER_NOT_FOUND, "User was not found")),
    };
    let target = match target {
        Ok(t) => t,
        Err(e) => {
            // The password was right: this check is not a failed guess.
            lockout::give_back(&state.pool, r).await?;
            return Err(e);
        }
    };
    if login.password_expired {
        // Accepted, but no session: the password must be changed first.
        accept(state, &login, r, target.two_factor, req.otp.as_deref()).await?;
        return Err(ApiError::new(
            codes::PASSWORD_EXPIRED,
            "The password has expired and must be changed",
        ));
    }
    let (r, proof) = prove(state, &login, r, target.two_factor, req.otp.as_deref()).await?;
    let now = state.now();
    let new = sessions::New {
        login_id: login.id,
        partner_id: target.id,
        privileges: req.privileges.as_deref().unwrap_or("*"),
        expires_at: now + sessions::lifetime(req.expiry),
        proven_with_code: target.two_factor,
        epoch: login.session_epoch,
    };
    // Accepting the check and creating the session commit together, in one
    // commit, synced only when it records a code's step. A refusal is
    // counted afterwards, on another connection.
    let mut conn = state.success_conn(proof).await?;
    let created = sessions::create_on_success(&mut conn, &r, proof, new, now).await?;
    drop(conn);
    let ks = match created {
        Ok(ks) => ks,
        Err(refused) => return Err(refusal(state, r, refused).await?),
    };
    state.metrics.session_opened();
    tracing::info!(login = login.id, partner = target.id, "signed in");
    Ok(ks)
}

/// Applies the password policy, including the history, for a login.
pub async fn check_new_password(state: &AppState, login: &Login, new: &str) -> ApiResult<()> {
    passwords::check_policy(new, &login.email)?;
    let history = store::password_history(&state.pool, login.id, passwords::HISTORY).await?;
    if state.hasher.matches_any(&history, new).await? {
        return Err(passwords::already_used());
    }
    Ok(())
}

/// A password change proven with the current password (and the
/// authenticator code when the login has a 2FA account), from the client
/// address `client`. Every session of the login ends, except the one `ks`
/// names if it is a live session of that login (the page that asked stays
/// signed in), and the login's owner is told by mail. Returns the login.
pub async fn change_password(
    state: &AppState,
    client: Option<IpAddr>,
    email: &str,
    password: &str,
    otp: Option<&str>,
    new_password: &str,
    ks: Option<&str>,
) -> ApiResult<Login> {
    let ticket = client_ticket(state, client)?;
    let result = async {
        let (login, partners, r) =
            check_password(state, client, email, password, wrong_old_password, &mut None)
                .await?;
        let needs_code = login.totp_secret.is_some() && partners.iter().any(|p| p.two_factor);
        accept(state, &login, r, needs_code, otp).await?;
        Ok::<_, ApiError>(login)
    }
    .await;
    finish_ticket(ticket, &result);
    let login = result.map_err(|e| mask(state, e, wrong_old_password))?;
    check_new_password(state, &login, new_password).await?;
    let keep = match ks {
        Some(ks) => sessions::check(&state.pool, Some(ks), state.now())
            .await
            .ok()
            .filter(|s| s.login_id == login.id)
            .map(|s| s.id),
        None => None,
    };
    let hash = state.hasher.hash(new_password).await?;
    store::set_password(&state.pool, login.id, &hash, state.now(), keep).await?;
    audit::password_changed(login.id, client, "account_page");
    send_in_background(
        state,
        crate::mail::password_changed_notice(&login.email, &state.occasion(client)),
        "the password-changed notice",
    );
    tracing::info!(
        login = login.id,
        kept_session = keep.is_some(),
        "password changed"
    );
    Ok(login)
}

/// The answer to a set-password link that cannot be used.
pub fn link_error(e: LinkError) -> ApiError {
    match e {
        LinkError::Invalid => ApiError::new(
            codes::NEW_PASSWORD_HASH_KEY_INVALID,
            "The link is invalid or was already used",
        ),
        LinkError::Expired => {
            ApiError::new(codes::NEW_PASSWORD_HASH_KEY_EXPIRED, "The link has expired")
        }
    }
}

/// The refusal of a set-password link presented by `client`: counted,
/// logged, answered.
fn refuse_link(state: &AppState, client: Option<IpAddr>, e: LinkError) -> ApiError {
    let reason = match e {
        LinkError::Invalid => "invalid",
        LinkError::Expired => "expired",
    };
    state.metrics.link(Kind::Reset, false);
    audit::link_refused(client, Kind::Reset, reason);
    link_error(e)
}

/// The login a set-password link is for, without using the link.
pub async fn reset_link_login(
    state: &AppState,
    client: Option<IpAddr>,
    hash_key: &str,
) -> ApiResult<Login> {
    let login_id = links::peek(&state.pool, hash_key, Kind::Reset, state.now())
        .await?
        .map_err(|e| refuse_link(state, client, e))?;
    store::login_by_id(&state.pool, login_id)
        .await?
        .ok_or_else(|| link_error(LinkError::Invalid))
}

/// What a password set through a link did.
pub struct InitialPassword {
    /// The login whose password was set.
    pub login: Login,
    /// The new authenticator secret's otpauth URI, on a login with a 2FA
    /// account (a new secret is issued with every such password).
    pub otpauth_uri: Option<String>,
}

/// Sets a login's password through a set-password link: the link is spent,
/// the password set (ending every session of the login) and, on a login
/// with a 2FA account, a new secret stored, all in one transaction. An
/// enrolled login's old authenticator is told by mail that its key no
/// longer works (with when, and from `client`).
pub async fn set_initial_password(
    state: &AppState,
    client: Option<IpAddr>,
    hash_key: &str,
    new_password: &str,
) -> ApiResult<InitialPassword> {
    let login = reset_link_login(state, client, hash_key).await?;
    let _admission = state.hasher.admit()?;
    check_new_password(state, &login, new_password).await?;
    let hash = state.hasher.hash(new_password).await?;
    let new_secret = if store::login_has_2fa_account(&state.pool, login.id).await? {
        Some(totp::new_secret())
    } else {
        None
    };
    // One transaction: the link is spent (of two parallel uses one wins),
    // the password set (ending every session of the login) and the new
    // secret stored, or none of it happens, even if the request is dropped
    // halfway.
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    if links::consume_in(&mut tx, hash_key, Kind::Reset, now).await? != Some(login.id) {
        drop(tx);
        let e = links::peek(&state.pool, hash_key, Kind::Reset, now)
            .await?
            .err()
            .unwrap_or(LinkError::Invalid);
        return Err(refuse_link(state, client, e));
    }
    // The secret first: its write waits for a key rotation in progress,
    // and must not hold the login's row meanwhile.
    if let Some(secret) = &new_secret {
        state
            .secrets
            .write_secret(&mut tx, login.id, secret)
            .await?;
    }
    store::write_password(&mut tx, login.id, &hash, now, None).await?;
    tx.commit().await?;
    state.metrics.link(Kind::Reset, true);
    audit::link_used(login.id, client, Kind::Reset);
    audit::password_changed(login.id, client, "reset_link");
    if new_secret.is_some() {
        audit::authenticator_enrolled(login.id, client, "reset_link");
    }
    let otpauth_uri = if let Some(secret) = new_secret {
        if login.totp_secret.is_some() {
            // An enrolled login is told apart from the page: whoever holds
            // the authenticator learns that its key no longer works, even
            // when someone else used the link.
            send_in_background(
                state,
                crate::mail::new_key_notice_mail(&login.email, &state.occasion(client)),
                "the new-authenticator-key notice",
            );
        }
        Some(enrol::otpauth_uri(state, &login.email, &secret))
    } else {
        None
    };
    tracing::info!(
        login = login.id,
        new_secret = otpauth_uri.is_some(),
        "password set through a link"
    );
    Ok(InitialPassword { login, otpauth_uri })
}

/// `user.resetPassword`: unless the reset limits refuse it (silently), a
/// reset link is mailed to `email` if a login has it. The lookup and the
/// mail happen after the caller answers, so the reply time does not tell
/// whether the email exists.
pub async fn request_reset(state: &AppState, client: Option<&str>, email: &str) -> ApiResult<()> {
    if !state
        .reset_limiter
        .allow(&state.pool, email, client, state.now())
        .await?
    {
        state.metrics.reset_request(false);
        tracing::info!("password reset request dropped by the rate limit");
        return Ok(());
    }
    state.metrics.reset_request(true);
    let task_state = state.clone();
    let email = email.to_owned();
    state.background.spawn(async move {
        if let Err(e) = send_reset(&task_state, &email).await {
            tracing::error!(error = %e, "sending a password reset failed");
        }
    });
    Ok(())
}

async fn send_reset(state: &AppState, email: &str) -> anyhow::Result<()> {
    let Some(login) = store::login_by_email(&state.pool, email).await? else {
        // The end of this request's work, for operators and tests alike
        // (without the address, which may be anyone's typo).
        tracing::info!("password reset asked for an email no login has: nothing sent");
        return Ok(());
    };
    let token = links::issue(&state.pool, login.id, Kind::Reset, state.now()).await?;
    let link = state.link_url(Kind::Reset, &token);
    state
        .mailer
        .send(
            &state.config.mail_from,
            crate::mail::reset_mail(&login.email, &link),
        )
        .await?;
    tracing::info!(login = login.id, "password reset link sent");
    Ok(())
}

/// Sends a mail after the reply, logging (not answering) a failure.
pub(crate) fn send_in_background(state: &AppState, mail: crate::mail::Mail, what: &'static str) {
    let task_state = state.clone();
    state.background.spawn(async move {
        if let Err(e) = task_state
            .mailer
            .send(&task_state.config.mail_from, mail)
            .await
        {
            tracing::error!(error = %e, "sending {what} failed");
        }
    });
}
