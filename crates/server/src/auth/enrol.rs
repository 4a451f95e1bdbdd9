//! Authenticator enrolment: a login's TOTP secret, created and stored
//! sealed on first use, and the otpauth URI an authenticator app scans.

use kaltura_api::OtpAuthUri;

use crate::AppState;
use crate::auth::totp;
use crate::error::ApiResult;
use crate::store::{self, Login};

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
