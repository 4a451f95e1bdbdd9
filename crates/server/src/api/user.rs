//! The `user` service: sign-in, links (QR and password), switching accounts.
//!
//! `loginByLoginId` decides in the order of the contract (§3), with one
//! deliberate change: a blocked login is refused before its password is
//! checked, so a block never becomes a password oracle (the same hashing
//! time is still spent on a dummy hash, so the answer time does not reveal
//! that the email exists).

use kaltura_api::requests::{
    HashKeyParams, LoginByKs, LoginByLoginId, ResetPassword, SetInitialPassword,
};
use kaltura_api::responses::{KalturaAuthentication, KalturaSessionResponse, KalturaUser};
use kaltura_api::{OtpAuthUri, codes};
use serde_json::Value;

use super::{Call, to_value};
use crate::AppState;
use crate::auth::links::{self, Kind, LinkError};
use crate::auth::lockout::{self, Failure, Proof, Reservation, Reserved, Success};
use crate::auth::{passwords, sessions, totp};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::store::{self, Login, Partner};

/// Codes `loginByLoginId` passes through while masking is on; every other
/// login-decision code goes out as `USER_WRONG_PASSWORD`.
const MASKED: &[&str] = &[
    codes::USER_NOT_FOUND,
    codes::LOGIN_DATA_NOT_FOUND,
    codes::LOGIN_BLOCKED,
    codes::LOGIN_RETRIES_EXCEEDED,
    codes::USER_IS_BLOCKED,
    codes::INVALID_PARTNER_ID,
];

fn wrong_password() -> ApiError {
    ApiError::new(codes::USER_WRONG_PASSWORD, "Wrong username or password")
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

/// Masks a login error when the operator has not asked to reveal them.
pub fn mask(state: &AppState, e: ApiError, replacement: fn() -> ApiError) -> ApiError {
    if state.config.mask_login_errors && MASKED.contains(&e.code()) {
        replacement()
    } else {
        e
    }
}

/// Counts a failed check and picks the answer: the failure's own error
/// below the limit, `LOGIN_RETRIES_EXCEEDED` for the check that spent the
/// budget.
pub async fn count_failure(
    state: &AppState,
    r: Reservation,
    code: bool,
    own: ApiError,
) -> ApiResult<ApiError> {
    Ok(
        match lockout::fail(&state.pool, r, code, state.now(), state.config.limits).await? {
            Failure::Counted => own,
            Failure::LimitReached => ApiError::new(
                codes::LOGIN_RETRIES_EXCEEDED,
                "Too many failed attempts: this login is blocked for a while",
            ),
        },
    )
}

/// Checks the login's password. A check is reserved from the login's guess
/// budget before the hash is computed; a blocked login, or one whose budget
/// is spent by checks in flight, is refused without checking (but after the
/// same hashing time, as is an unknown login, so the answer time does not
/// tell that the email exists). On a wrong password the check stays counted
/// and `wrong` is the error below the limit. Returns the login, its
/// accounts (oldest first) and the reservation, which the caller must
/// resolve ([`prove`] then [`lockout::succeed`], [`accept`], or
/// [`lockout::give_back`]).
pub async fn check_password(
    state: &AppState,
    email: &str,
    password: &str,
    wrong: fn() -> ApiError,
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
        Reserved::Check(login, partners, r) => (*login, partners, r),
        refused => {
            state.hasher.verify(None, password).await?;
            let blocked = matches!(refused, Reserved::Blocked);
            return Err(if blocked { login_blocked() } else { wrong() });
        }
    };
    if !state
        .hasher
        .verify(login.password_hash.as_deref(), password)
        .await?
    {
        return Err(count_failure(state, r, false, wrong()).await?);
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
            let secret = state.secrets.open(login.id, sealed)?;
            totp::matching_step(&secret, otp, state.now())
        }
        None => None,
    };
    match step {
        Some(step) => Ok((r, Proof::Code { step })),
        None => Err(count_failure(state, r, true, invalid_otp()).await?),
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
        Success::Replay => count_failure(state, r, true, invalid_otp()).await?,
        Success::Blocked | Success::Accepted => login_blocked(),
    })
}

fn parse_login(p: &Params) -> ApiResult<LoginByLoginId> {
    Ok(LoginByLoginId {
        login_id: p.non_empty("loginId")?,
        password: p.string("password")?,
        partner_id: p.opt_i64("partnerId")?,
        expiry: p.opt_i64("expiry")?,
        privileges: p.opt_string("privileges")?,
        otp: p.opt_string("otp")?,
    })
}

/// `user.loginByLoginId` → a KS.
pub async fn login_by_login_id(call: &Call, p: &Params) -> ApiResult<Value> {
    let req = parse_login(p)?;
    let state = &call.state;
    if !is_email(&req.login_id) {
        // No login can have it: refused before any state or hashing.
        return Err(wrong_password());
    }
    let ticket = call.client_ticket()?;
    let result = login(state, &req).await;
    super::finish_ticket(ticket, &result);
    let ks = result.map_err(|e| mask(state, e, wrong_password))?;
    Ok(Value::String(ks))
}

/// True for a valid email address of at most 254 characters (RFC 5321's
/// limit): the only strings a login can have, and the only ones allowed to
/// key any limit state.
pub fn is_email(s: &str) -> bool {
    let s = s.trim();
    s.len() <= 254 && s.parse::<lettre::Address>().is_ok()
}

async fn login(state: &AppState, req: &LoginByLoginId) -> ApiResult<String> {
    let (login, partners, r) =
        check_password(state, &req.login_id, &req.password, wrong_password).await?;
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
    tracing::info!(login = login.id, partner = target.id, "signed in");
    Ok(ks)
}

fn hash_key(p: &Params) -> ApiResult<HashKeyParams> {
    Ok(HashKeyParams {
        hash_key: p.non_empty("hashKey")?,
    })
}

/// The login's secret, created (and stored sealed) when it has none.
pub async fn secret_of(state: &AppState, login: &Login) -> ApiResult<Vec<u8>> {
    if let Some(sealed) = &login.totp_secret {
        return Ok(state.secrets.open(login.id, sealed)?);
    }
    let secret = totp::new_secret();
    let sealed = state.secrets.seal(login.id, &secret)?;
    store::set_totp_secret(&state.pool, login.id, &sealed).await?;
    Ok(secret)
}

/// The otpauth URI of a secret for a login.
pub fn otpauth_uri(state: &AppState, email: &str, secret: &[u8]) -> String {
    OtpAuthUri::new(
        &state.config.issuer,
        email,
        &kaltura_api::otpauth::base32_encode(secret),
    )
    .to_uri()
}

/// `user.generateQrCode` → the `otpauth://` URI; consumes the QR link.
pub async fn generate_qr_code(call: &Call, p: &Params) -> ApiResult<Value> {
    let req = hash_key(p)?;
    let state = &call.state;
    let login_id = links::consume(&state.pool, &req.hash_key, Kind::Qr, state.now())
        .await?
        .map_err(|_| ApiError::new(codes::INVALID_HASH, "The link is invalid, used or expired"))?;
    let login = store::login_by_id(&state.pool, login_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(codes::INVALID_HASH, "The link is invalid, used or expired")
        })?;
    let secret = secret_of(state, &login).await?;
    tracing::info!(login = login.id, "QR link used");
    Ok(Value::String(otpauth_uri(state, &login.email, &secret)))
}

/// `user.resetPassword` → `null`, always. Sends a reset link when the email
/// is known and the rate limits allow; otherwise nothing, silently.
pub async fn reset_password(call: &Call, p: &Params) -> ApiResult<Value> {
    let req = ResetPassword {
        email: p.non_empty("email")?,
    };
    if !is_email(&req.email) {
        return Err(ApiError::new(
            codes::INVALID_FIELD_VALUE,
            "The email is not a valid address",
        )
        .with_arg("FIELD_NAME", "email"));
    }
    let state = call.state.clone();
    if !state
        .reset_limiter
        .allow(
            &state.pool,
            &req.email,
            call.client_key().as_deref(),
            state.now(),
        )
        .await?
    {
        tracing::info!("password reset request dropped by the rate limit");
        return Ok(Value::Null);
    }
    // The lookup and the mail happen after the answer, so the reply time does
    // not tell whether the email exists.
    tokio::spawn(async move {
        if let Err(e) = send_reset(&state, &req.email).await {
            tracing::error!(error = %e, "sending a password reset failed");
        }
    });
    Ok(Value::Null)
}

/// Sends a mail after the reply, logging (not answering) a failure.
fn send_in_background(state: &AppState, mail: crate::mail::Mail, what: &'static str) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = state.mailer.send(&state.config.mail_from, mail).await {
            tracing::error!(error = %e, "sending {what} failed");
        }
    });
}

async fn send_reset(state: &AppState, email: &str) -> anyhow::Result<()> {
    let Some(login) = store::login_by_email(&state.pool, email).await? else {
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

fn link_error(e: LinkError) -> ApiError {
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

/// `user.validateHashKey`: checks a set-password link without using it, and
/// names the login's email (the address the link was mailed to).
pub async fn validate_hash_key(call: &Call, p: &Params) -> ApiResult<Value> {
    let req = hash_key(p)?;
    let state = &call.state;
    let login_id = links::peek(&state.pool, &req.hash_key, Kind::Reset, state.now())
        .await?
        .map_err(link_error)?;
    let login = store::login_by_id(&state.pool, login_id)
        .await?
        .ok_or_else(|| link_error(LinkError::Invalid))?;
    to_value(&KalturaAuthentication::for_login(login.email, None))
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

/// `user.setInitialPassword` / `adminUser.setInitialPassword`: sets the
/// password through a link; on a login with a 2FA account a new secret is
/// issued and returned as `qrCode`.
pub async fn set_initial_password(call: &Call, p: &Params) -> ApiResult<Value> {
    let req = SetInitialPassword {
        hash_key: p.non_empty("hashKey")?,
        new_password: p.string("newPassword")?,
    };
    let state = &call.state;
    let now = state.now();
    let login_id = links::peek(&state.pool, &req.hash_key, Kind::Reset, now)
        .await?
        .map_err(link_error)?;
    let login = store::login_by_id(&state.pool, login_id)
        .await?
        .ok_or_else(|| link_error(LinkError::Invalid))?;
    let _admission = state.hasher.admit()?;
    check_new_password(state, &login, &req.new_password).await?;
    let hash = state.hasher.hash(&req.new_password).await?;
    let new_secret = if store::login_has_2fa_account(&state.pool, login.id).await? {
        Some(totp::new_secret())
    } else {
        None
    };
    let sealed = new_secret
        .as_ref()
        .map(|secret| state.secrets.seal(login.id, secret))
        .transpose()?;
    // One transaction: the link is spent (of two parallel uses one wins),
    // the password set (ending every session of the login) and the new
    // secret stored, or none of it happens, even if the request is dropped
    // halfway.
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    if links::consume_in(&mut tx, &req.hash_key, Kind::Reset, now).await? != Some(login.id) {
        drop(tx);
        return Err(link_error(
            links::peek(&state.pool, &req.hash_key, Kind::Reset, now)
                .await?
                .err()
                .unwrap_or(LinkError::Invalid),
        ));
    }
    store::write_password(&mut tx, login.id, &hash, now, None).await?;
    if let Some(sealed) = &sealed {
        store::write_totp_secret(&mut tx, login.id, sealed).await?;
    }
    tx.commit().await?;
    let qr_code = if let Some(secret) = new_secret {
        if login.totp_secret.is_some() {
            // An enrolled login is told apart from the page: whoever holds
            // the authenticator learns that its key no longer works, even
            // when someone else used the link.
            send_in_background(
                state,
                crate::mail::new_key_notice_mail(&login.email),
                "the new-authenticator-key notice",
            );
        }
        Some(otpauth_uri(state, &login.email, &secret))
    } else {
        None
    };
    tracing::info!(
        login = login.id,
        new_secret = qr_code.is_some(),
        "password set through a link"
    );
    to_value(&KalturaAuthentication::for_login(login.email, qr_code))
}

/// `user.loginByKs`: a session in another account of the same login.
/// Into a 2FA account only from a session proven with a code (else
/// `NEW_LOGIN_REQUIRED`: sign in again with a code); into a password-only
/// account from any session. The new session inherits the proof.
pub async fn login_by_ks(call: &Call, p: &Params) -> ApiResult<Value> {
    let state = &call.state;
    let now = state.now();
    let session = sessions::check(&state.pool, p.ks.as_deref(), now).await?;
    let req = LoginByKs {
        requested_partner_id: p.i64("requestedPartnerId")?,
    };
    let partners = store::partners_of(&state.pool, session.login_id).await?;
    let target = partners
        .iter()
        .find(|x| x.id == req.requested_partner_id)
        .ok_or_else(|| {
            ApiError::new(
                codes::INVALID_PARTNER_ID,
                format!("Invalid partner id {}", req.requested_partner_id),
            )
        })?;
    // Only a session that was itself proven with a code switches directly
    // into a 2FA account: what the current account requires today says
    // nothing about how this session was made.
    if target.two_factor && !session.proven_with_code {
        return Err(ApiError::new(
            codes::NEW_LOGIN_REQUIRED,
            "This account requires two-factor authentication: sign in again",
        ));
    }
    let login = store::login_by_id(&state.pool, session.login_id)
        .await?
        .ok_or_else(|| ApiError::invalid_ks("INVALID"))?;
    // The new session ends when the current one would: switching never
    // extends a session.
    let ks = sessions::create(
        &mut *state.pool.acquire().await?,
        sessions::New {
            login_id: login.id,
            partner_id: target.id,
            privileges: "*",
            expires_at: session.expires_at,
            proven_with_code: session.proven_with_code,
            epoch: session.epoch,
        },
        now,
    )
    .await?;
    store::set_last_partner(&state.pool, login.id, target.id).await?;
    tracing::info!(login = login.id, partner = target.id, "switched account");
    to_value(&KalturaSessionResponse::new(ks, login.email, target.id))
}

/// `user.get`: the session's user.
pub async fn get(call: &Call, p: &Params) -> ApiResult<Value> {
    let state = &call.state;
    let session = sessions::check(&state.pool, p.ks.as_deref(), state.now()).await?;
    let login = store::login_by_id(&state.pool, session.login_id)
        .await?
        .ok_or_else(|| ApiError::invalid_ks("INVALID"))?;
    let user = store::user(&state.pool, login.id, session.partner_id)
        .await?
        .ok_or_else(|| ApiError::new(codes::USER_NOT_FOUND, "User was not found"))?;
    let full_name = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    to_value(&KalturaUser {
        object_type: "KalturaUser".into(),
        id: login.email.clone(),
        partner_id: session.partner_id,
        email: Some(login.email),
        first_name: user.first_name,
        last_name: user.last_name,
        full_name: Some(full_name).filter(|s| !s.is_empty()),
        is_admin: user.is_admin,
    })
}
