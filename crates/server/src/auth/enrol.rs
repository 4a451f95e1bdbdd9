//! Authenticator enrolment: a login's TOTP secret, created and stored
//! sealed on first use, and the otpauth URI an authenticator app scans.

use kaltura_api::{OtpAuthUri, codes};

use std::net::IpAddr;

use crate::AppState;
use crate::audit;
use crate::auth::links::{self, Kind};
use crate::auth::totp;
use crate::error::{ApiError, ApiResult};
use crate::store::{self, Login};

/// The login's secret, created (and stored sealed) when it has none.
pub async fn secret_of(state: &AppState, login: &Login) -> ApiResult<Vec<u8>> {
    if let Some(sealed) = &login.totp_secret {
        return Ok(state
            .secrets
            .open_secret(&state.pool, login.id, sealed)
            .await?);
    }
    let secret = totp::new_secret();
    let mut conn = state.pool.acquire().await?;
    state
        .secrets
        .write_secret(&mut conn, login.id, &secret)
        .await?;
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

/// `user.generateQrCode`: spends a QR link and returns the otpauth URI of
/// its login's secret (created if the login has none yet). The login's
/// owner is told by mail that an authenticator was set up, when and from
/// `client`.
pub async fn redeem_qr_link(
    state: &AppState,
    client: Option<IpAddr>,
    hash_key: &str,
) -> ApiResult<String> {
    let invalid = || ApiError::new(codes::INVALID_HASH, "The link is invalid, used or expired");
    let login_id = links::consume(&state.pool, hash_key, Kind::Qr, state.now())
        .await?
        .map_err(|e| {
            let reason = match e {
                links::LinkError::Invalid => "invalid",
                links::LinkError::Expired => "expired",
            };
            state.metrics.link(Kind::Qr, false);
            audit::link_refused(client, Kind::Qr, reason);
            invalid()
        })?;
    let login = store::login_by_id(&state.pool, login_id)
        .await?
        .ok_or_else(invalid)?;
    let secret = secret_of(state, &login).await?;
    state.metrics.link(Kind::Qr, true);
    audit::link_used(login.id, client, Kind::Qr);
    audit::authenticator_enrolled(login.id, client, "qr_link");
    crate::auth::signin::send_in_background(
        state,
        crate::mail::authenticator_notice(&login.email, &state.occasion(client)),
        "the authenticator notice",
    );
    tracing::info!(login = login.id, "QR link used");
    Ok(otpauth_uri(state, &login.email, &secret))
}
