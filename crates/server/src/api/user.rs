//! The `user` service: sign-in, links (QR and password), switching accounts.
//! The sign-in and password steps are [`crate::auth::signin`]'s; these
//! handlers read the parameters and shape the replies.

use kaltura_api::codes;
use kaltura_api::requests::{
    HashKeyParams, LoginByKs, LoginByLoginId, ResetPassword, SetInitialPassword,
};
use kaltura_api::responses::{KalturaAuthentication, KalturaSessionResponse, KalturaUser};
use serde_json::Value;

use super::{Call, to_value};
use crate::auth::{enrol, sessions, signin};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::store;

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
    let ks = signin::sign_in(&call.state, call.client_ip, &req).await?;
    Ok(Value::String(ks))
}

fn hash_key(p: &Params) -> ApiResult<HashKeyParams> {
    Ok(HashKeyParams {
        hash_key: p.non_empty("hashKey")?,
    })
}

/// `user.generateQrCode` → the `otpauth://` URI; consumes the QR link.
pub async fn generate_qr_code(call: &Call, p: &Params) -> ApiResult<Value> {
    let req = hash_key(p)?;
    let uri = enrol::redeem_qr_link(&call.state, call.client_ip, &req.hash_key).await?;
    Ok(Value::String(uri))
}

/// `user.resetPassword` → `null`, always. Sends a reset link when the email
/// is known and the rate limits allow; otherwise nothing, silently.
pub async fn reset_password(call: &Call, p: &Params) -> ApiResult<Value> {
    let req = ResetPassword {
        email: p.non_empty("email")?,
    };
    if !signin::is_email(&req.email) {
        return Err(ApiError::new(
            codes::INVALID_FIELD_VALUE,
            "The email is not a valid address",
        )
        .with_arg("FIELD_NAME", "email"));
    }
    signin::request_reset(&call.state, call.client_key().as_deref(), &req.email).await?;
    Ok(Value::Null)
}

/// `user.validateHashKey`: checks a set-password link without using it, and
/// names the login's email (the address the link was mailed to).
pub async fn validate_hash_key(call: &Call, p: &Params) -> ApiResult<Value> {
    let req = hash_key(p)?;
    let login = signin::reset_link_login(&call.state, call.client_ip, &req.hash_key).await?;
    to_value(&KalturaAuthentication::for_login(login.email, None))
}

/// `user.setInitialPassword` / `adminUser.setInitialPassword`: sets the
/// password through a link; on a login with a 2FA account a new secret is
/// issued and returned as `qrCode`.
pub async fn set_initial_password(call: &Call, p: &Params) -> ApiResult<Value> {
    let req = SetInitialPassword {
        hash_key: p.non_empty("hashKey")?,
        new_password: p.string("newPassword")?,
    };
    let set = signin::set_initial_password(
        &call.state,
        call.client_ip,
        &req.hash_key,
        &req.new_password,
    )
    .await?;
    to_value(&KalturaAuthentication::for_login(
        set.login.email,
        set.otpauth_uri,
    ))
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
    state.metrics.session_opened();
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
