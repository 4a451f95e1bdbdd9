//! The `session` service: ending a KS.

use serde_json::Value;

use super::Call;
use crate::auth::sessions;
use crate::error::ApiResult;
use crate::params::Params;

/// `session.end`: revokes the KS; later use answers `INVALID_KS` / `LOGOUT`.
pub async fn end(call: &Call, p: &Params) -> ApiResult<Value> {
    let state = &call.state;
    let now = state.now();
    let session = sessions::check(&state.pool, p.ks.as_deref(), now).await?;
    sessions::revoke(&state.pool, session.id, now).await?;
    state.metrics.session_ended();
    crate::audit::session_ended(session.login_id, call.client_ip);
    tracing::info!(login = session.login_id, "session ended");
    Ok(Value::Null)
}
