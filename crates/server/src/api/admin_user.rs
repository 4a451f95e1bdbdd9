//! The `adminUser` service: changing a password with the current one (and
//! the authenticator code when the login has a 2FA account). The new
//! password is never echoed back (Kaltura does echo it). A change ends every
//! other session of the login: all of them, unless the call carries a KS of
//! that login, which stays signed in.

use kaltura_api::codes;
use kaltura_api::requests::UpdatePassword;
use kaltura_api::responses::KalturaAdminUser;
use serde_json::Value;

use super::user::{accept, check_new_password, check_password, mask};
use super::{Call, to_value};
use crate::auth::sessions;
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
    let ticket = call.client_ticket()?;
    let result = async {
        let (login, partners, r) =
            check_password(state, &req.email, &req.password, wrong_old_password).await?;
        let needs_code = login.totp_secret.is_some() && partners.iter().any(|p| p.two_factor);
        accept(state, &login, r, needs_code, req.otp.as_deref()).await?;
        Ok::<_, ApiError>(login)
    }
    .await;
    super::finish_ticket(ticket, &result);
    let login = result.map_err(|e| mask(state, e, wrong_old_password))?;
    check_new_password(state, &login, &req.new_password).await?;
    // The session that asked (the account page sends its KS) stays signed
    // in; every other session of the login ends with the old password.
    let keep = match p.ks.as_deref() {
        Some(ks) => sessions::check(&state.pool, Some(ks), state.now())
            .await
            .ok()
            .filter(|s| s.login_id == login.id)
            .map(|s| s.id),
        None => None,
    };
    let hash = state.hasher.hash(&req.new_password).await?;
    store::set_password(&state.pool, login.id, &hash, state.now(), keep).await?;
    tracing::info!(
        login = login.id,
        kept_session = keep.is_some(),
        "password changed"
    );
    to_value(&KalturaAdminUser::new(login.email))
}
