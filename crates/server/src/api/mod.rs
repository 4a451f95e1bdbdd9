//! The Kaltura API v3 endpoint: `POST /api_v3/service/{service}/action/{action}`.
//!
//! One handler reads the body into [`Params`], finds the action in
//! [`ACTIONS`], the one table of `(service, action, handler)` (service and
//! action names are case-insensitive, as in Kaltura), and renders either the
//! action's value or the Kaltura error object. CORS is Kaltura's (any origin,
//! no credentials, preflight cached for a day) and every reply carries
//! `Cache-Control: no-store`.
//!
//! One module per Kaltura service: [`user`], [`admin_user`], [`partner`],
//! [`session`].

pub mod admin_user;
pub mod partner;
pub mod session;
pub mod user;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::any;
use kaltura_api::codes;
use serde_json::Value;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use crate::error::{ApiError, ApiResult, json_response};
use crate::params::{MAX_BODY_BYTES, Params};

/// What answers one action: reads its parameters from the call and returns
/// the reply's value.
pub type Handler =
    for<'a> fn(&'a Call, &'a Params) -> Pin<Box<dyn Future<Output = ApiResult<Value>> + Send + 'a>>;

/// One action the server answers.
pub struct Action {
    /// The service, as Kaltura spells it (matched case-insensitively).
    pub service: &'static str,
    /// The action, as Kaltura spells it (matched case-insensitively).
    pub action: &'static str,
    /// What answers it.
    pub handler: Handler,
}

/// An [`Action`] answered by an async fn `(&Call, &Params) -> ApiResult<Value>`.
macro_rules! action {
    ($service:literal, $action:literal, $handler:path) => {
        Action {
            service: $service,
            action: $action,
            handler: |call, params| Box::pin($handler(call, params)),
        }
    };
}

/// Every action the server answers: the one list that dispatch and
/// [`actions`] read.
pub static ACTIONS: &[Action] = &[
    action!("user", "loginByLoginId", user::login_by_login_id),
    action!("user", "generateQrCode", user::generate_qr_code),
    action!("user", "resetPassword", user::reset_password),
    action!("user", "validateHashKey", user::validate_hash_key),
    action!("user", "setInitialPassword", user::set_initial_password),
    action!("user", "loginByKs", user::login_by_ks),
    action!("user", "get", user::get),
    action!("adminUser", "updatePassword", admin_user::update_password),
    action!(
        "adminUser",
        "setInitialPassword",
        user::set_initial_password
    ),
    action!("partner", "listPartnersForUser", partner::list_for_user),
    action!("partner", "getInfo", partner::get_info),
    action!("session", "end", session::end),
];

/// The `(service, action)` names of every action the server answers, as
/// Kaltura spells them.
pub fn actions() -> impl Iterator<Item = (&'static str, &'static str)> {
    ACTIONS.iter().map(|a| (a.service, a.action))
}

/// What a handler gets besides its parameters.
pub struct Call {
    /// The shared state.
    pub state: AppState,
    /// The client address (for the per-client limits), when known: the
    /// peer, or behind a trusted proxy the address it forwarded.
    pub client_ip: Option<std::net::IpAddr>,
}

impl Call {
    /// The per-client limit key (IPv4 address, IPv6 /64).
    pub fn client_key(&self) -> Option<String> {
        self.client_ip.map(crate::net::client_key)
    }
}

/// The API routes with CORS and `no-store`.
pub fn router(state: AppState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::POST, Method::GET, Method::HEAD, Method::OPTIONS])
        .allow_headers([
            header::ORIGIN,
            HeaderName::from_static("x-requested-with"),
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::RANGE,
            header::CACHE_CONTROL,
        ])
        .max_age(Duration::from_secs(86400));
    Router::new()
        .route("/api_v3/service/{service}/action/{action}", any(handle))
        .route("/api_v3", any(unknown_path))
        .route("/api_v3/", any(unknown_path))
        .route("/api_v3/{*rest}", any(unknown_path))
        .with_state(state)
        .layer(cors)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// Any other path under `/api_v3`: no service is named, so `SRV_NAME` is
/// empty.
pub async fn unknown_path() -> Response {
    service_does_not_exist("").into_response()
}

/// `SERVICE_DOES_NOT_EXISTS` as Kaltura sends it: the name in `args.SRV_NAME`
/// and Kaltura's message template. `name` must already be safe to echo
/// ([`printable`]).
fn service_does_not_exist(name: &str) -> ApiError {
    ApiError::new(
        codes::SERVICE_DOES_NOT_EXISTS,
        format!("Service \"{name}\" does not exists"),
    )
    .with_arg("SRV_NAME", name)
}

async fn handle(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    req: Request,
) -> Response {
    let started = std::time::Instant::now();
    let (index, result) = match find(path, req.method()) {
        Ok(index) => (Some(index), dispatch(&state, index, req).await),
        Err(e) => (None, Err(e)),
    };
    // Measured to the reply's value, before it is rendered.
    state.metrics.request(index, started.elapsed());
    match result {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(e) => e.into_response(),
    }
}

/// The index in [`ACTIONS`] of the action a request names, or the error
/// Kaltura answers for it.
fn find(path: Result<Path<(String, String)>, PathRejection>, method: &Method) -> ApiResult<usize> {
    let Path((service, action)) =
        path.map_err(|_| ApiError::invalid_request("The service or action name is not valid"))?;
    if method != Method::POST {
        return Err(ApiError::invalid_request(
            "Use POST with the parameters in the body",
        ));
    }
    if !ACTIONS
        .iter()
        .any(|a| a.service.eq_ignore_ascii_case(&service))
    {
        return Err(service_does_not_exist(&printable(&service)));
    }
    ACTIONS
        .iter()
        .position(|a| {
            a.service.eq_ignore_ascii_case(&service) && a.action.eq_ignore_ascii_case(&action)
        })
        .ok_or_else(|| {
            let service_lc = service.to_ascii_lowercase();
            ApiError::new(
                codes::ACTION_DOES_NOT_EXISTS,
                format!(
                    "Action \"{}\" does not exist for service \"{service_lc}\"",
                    printable(&action)
                ),
            )
            .with_arg("ACTION_NAME", printable(&action))
            .with_arg("SERVICE_NAME", service_lc)
        })
}

/// Reads the parameters of a request to the action at `index` of
/// [`ACTIONS`] and runs its handler.
async fn dispatch(state: &AppState, index: usize, req: Request) -> ApiResult<Value> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let client_ip = crate::net::request_client(&state.config.trusted_proxies, peer, req.headers());
    let (parts, body) = req.into_parts();
    let too_big = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY_BYTES as u64);
    if too_big {
        return Err(ApiError::TooLarge);
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::TooLarge)?;
    let params = Params::from_body(&parts.headers, &bytes)?;
    let call = Call {
        state: state.clone(),
        client_ip,
    };
    (ACTIONS[index].handler)(&call, &params).await
}

/// A name from the URL, safe to echo: printable ASCII, at most 64 characters.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}

/// Serialises a wire value for the reply.
pub fn to_value<T: serde::Serialize>(v: &T) -> ApiResult<Value> {
    serde_json::to_value(v).map_err(|e| ApiError::Internal(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_service_is_named_in_srv_name_as_kaltura_names_it() {
        let body = serde_json::to_value(service_does_not_exist("media").to_body()).unwrap();
        assert_eq!(body["code"], "SERVICE_DOES_NOT_EXISTS");
        assert_eq!(body["args"], serde_json::json!({"SRV_NAME": "media"}));
        assert_eq!(body["message"], r#"Service "media" does not exists"#);
    }

    #[test]
    fn every_action_is_listed_once_whatever_its_case() {
        let mut names: Vec<_> = actions()
            .map(|(s, a)| format!("{}/{}", s.to_ascii_lowercase(), a.to_ascii_lowercase()))
            .collect();
        let listed = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), listed);
        assert!(actions().any(|a| a == ("user", "loginByLoginId")));
    }

    #[test]
    fn a_hostile_service_name_is_echoed_only_as_printable_ascii() {
        assert_eq!(printable("<script>\u{0}é x"), "<script>x");
    }
}
