//! The `adminUser` service: changing a password with the current one (and
//! the authenticator code when the login has a 2FA account). The new
//! password is never echoed back (Kaltura does echo it). A change ends every
//! other session of the login: all of them, unless the call carries a KS of
//! that login, which stays signed in.

use kaltura_api::requests::UpdatePassword;
use kaltura_api::responses::KalturaAdminUser;
use serde_json::Value;

use super::{Call, to_value};
use crate::auth::signin;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;

/// `adminUser.updatePassword`.
pub async fn update_password(call: &Call, p: &Params) -> ApiResult<Value> {
    let req = UpdatePassword {
        email: p.non_empty("email")?,
        password: p.string("password")?,
        new_email: p.opt_string("newEmail")?.unwrap_or_default(),
        new_password: p.string("newPassword")?,
        otp: p.opt_string("otp")?,
    };
    if !req.new_email.trim().is_empty()
        && !req.new_email.trim().eq_ignore_ascii_case(req.email.trim())
    {
        return Err(ApiError::invalid_request(
            "Changing the email is not supported: send newEmail as \"\"",
        ));
    }
    let login = signin::change_password(
        &call.state,
        call.client_ip,
        &req.email,
        &req.password,
        req.otp.as_deref(),
        &req.new_password,
        p.ks.as_deref(),
    )
    .await?;
    to_value(&KalturaAdminUser::new(login.email))
}
