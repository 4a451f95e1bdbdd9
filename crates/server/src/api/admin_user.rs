//! The `adminUser` service: changing a password with the current one (and
//! the authenticator code when the login has a 2FA account). The new
//! password is never echoed back (Kaltura does echo it).

use kaltura_api::codes;
use kaltura_api::requests::UpdatePassword;
use kaltura_api::responses::KalturaAdminUser;
use serde_json::Value;

use super::user::{accept_without_otp, check_new_password, check_otp, check_password, mask};
use super::{Call, to_value};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::store;

fn wrong_old_password() -> ApiError {
    ApiError::new(codes::WRONG_OLD_PASSWORD, "The current password is wrong")
}

/// `adminUser.updatePassword`.
pub async fn update_password(call: &Call, p: &Params) -> ApiResult<Value> {
    let req = UpdatePassword {
        email: p.non_empty("email")?,
        password: p.string("password")?,
        new_email: p.opt_string("newEmail")?.unwrap_or_default(),
        new_password: p.string("newPassword")?,
        otp: p.opt_string("otp")?,
    };
    let state = &call.state;
    if !req.new_email.trim().is_empty()
        && !req.new_email.trim().eq_ignore_ascii_case(req.email.trim())
    {
        return Err(ApiError::invalid_request(
            "Changing the email is not supported: send newEmail as \"\"",
        ));
    }
    let result = async {
        let login = check_password(state, &req.email, &req.password, wrong_old_password).await?;
        if login.totp_secret.is_some()
            && store::login_has_2fa_account(&state.pool, login.id).await?
        {
            check_otp(state, &login, req.otp.as_deref()).await?;
        } else {
            accept_without_otp(state, &login).await?;
        }
        Ok::<_, ApiError>(login)
    }
    .await;
    let login = result.map_err(|e| mask(state, e, wrong_old_password))?;
    check_new_password(state, &login, &req.new_password).await?;
    let hash = state.hasher.hash(&req.new_password).await?;
    store::set_password(&state.pool, login.id, &hash, state.now()).await?;
    tracing::info!(login = login.id, "password changed");
    to_value(&KalturaAdminUser::new(login.email))
}
