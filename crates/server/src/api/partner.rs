//! The `partner` service: the session's account and the login's accounts.

use kaltura_api::codes;
use kaltura_api::requests::ListPartnersForUser;
use kaltura_api::responses::{KalturaPartner, KalturaPartnerListResponse};
use serde_json::Value;

use super::{Call, to_value};
use crate::auth::sessions;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::store;

/// `partner.listPartnersForUser`: every account of the session's login
/// (filter and pager are accepted and ignored).
pub async fn list_for_user(call: &Call, p: &Params) -> ApiResult<Value> {
    let state = &call.state;
    let session = sessions::check(&state.pool, p.ks.as_deref(), state.now()).await?;
    let _req = ListPartnersForUser {
        partner_filter: p.opt_object("partnerFilter")?,
        pager: p.opt_object("pager")?,
    };
    let partners = store::partners_of(&state.pool, session.login_id).await?;
    to_value(&KalturaPartnerListResponse::new(
        partners
            .into_iter()
            .map(|x| KalturaPartner::new(x.id, x.name))
            .collect(),
    ))
}

/// `partner.getInfo`: the session's account.
pub async fn get_info(call: &Call, p: &Params) -> ApiResult<Value> {
    let state = &call.state;
    let session = sessions::check(&state.pool, p.ks.as_deref(), state.now()).await?;
    let partner = store::partner(&state.pool, session.partner_id)
        .await?
        .ok_or_else(|| ApiError::new(codes::INVALID_PARTNER_ID, "The account no longer exists"))?;
    to_value(&KalturaPartner::new(partner.id, partner.name))
}
