//! The Kaltura API v3 endpoint: `POST /api_v3/service/{service}/action/{action}`.
//!
//! One handler reads the body into [`Params`], finds the action (service and
//! action names are case-insensitive, as in Kaltura) and renders either the
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

use std::net::SocketAddr;
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
use crate::auth::throttle::ClientTicket;
use crate::error::{ApiError, ApiResult, json_response};
use crate::params::{MAX_BODY_BYTES, Params};

/// The services and their actions, lower-cased.
const SERVICES: &[(&str, &[&str])] = &[
    (
        "user",
        &[
            "loginbyloginid",
            "generateqrcode",
            "resetpassword",
            "validatehashkey",
            "setinitialpassword",
            "loginbyks",
            "get",
        ],
    ),
    ("adminuser", &["updatepassword", "setinitialpassword"]),
    ("partner", &["listpartnersforuser", "getinfo"]),
    ("session", &["end"]),
];

/// Every `(service, action)` pair the API answers, lower-case as dispatch matches them.
pub fn actions() -> impl Iterator<Item = (&'static str, &'static str)> {
    SERVICES
        .iter()
        .flat_map(|(service, actions)| actions.iter().map(move |action| (*service, *action)))
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

    /// Reserves a place in this client's budget of password checks, or
    /// answers `RESOURCE_IS_RESERVED` when it is spent. Requests without a
    /// known client (tests through the router) are not limited.
    pub fn client_ticket(&self) -> ApiResult<Option<ClientTicket>> {
        let Some(key) = self.client_key() else {
            return Ok(None);
        };
        match self.state.client_throttle.reserve(&key, self.state.now()) {
            Some(ticket) => Ok(Some(ticket)),
            None => {
                tracing::info!("password check refused by the per-client limit");
                Err(ApiError::new(
                    codes::RESOURCE_IS_RESERVED,
                    "Too many failed sign-in attempts from your network: try again later",
                ))
            }
        }
    }
}

/// Resolves a client ticket by an action's outcome: a wrong password or
/// code (whatever the masking) keeps the place as a failure, anything else
/// gives it back.
pub fn finish_ticket<T>(ticket: Option<ClientTicket>, result: &ApiResult<T>) {
    if let Some(ticket) = ticket {
        let failed = result
            .as_ref()
            .err()
            .is_some_and(|e| GUESS_FAILURES.contains(&e.code()));
        ticket.finish(failed);
    }
}

/// The answers that mean a guess was wrong (or refused as part of one).
const GUESS_FAILURES: &[&str] = &[
    codes::USER_WRONG_PASSWORD,
    codes::WRONG_OLD_PASSWORD,
    codes::INVALID_OTP,
    codes::USER_NOT_FOUND,
    codes::LOGIN_DATA_NOT_FOUND,
    codes::LOGIN_BLOCKED,
    codes::LOGIN_RETRIES_EXCEEDED,
];

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
    match dispatch(state, path, req).await {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(e) => e.into_response(),
    }
}

async fn dispatch(
    state: AppState,
    path: Result<Path<(String, String)>, PathRejection>,
    req: Request,
) -> ApiResult<Value> {
    let Path((service, action)) =
        path.map_err(|_| ApiError::invalid_request("The service or action name is not valid"))?;
    if req.method() != Method::POST {
        return Err(ApiError::invalid_request(
            "Use POST with the parameters in the body",
        ));
    }
    let service_lc = service.to_ascii_lowercase();
    let action_lc = action.to_ascii_lowercase();
    let Some((_, actions)) = SERVICES.iter().find(|(s, _)| *s == service_lc) else {
        return Err(service_does_not_exist(&printable(&service)));
    };
    if !actions.contains(&action_lc.as_str()) {
        return Err(ApiError::new(
            codes::ACTION_DOES_NOT_EXISTS,
            format!(
                "Action \"{}\" does not exist for service \"{service_lc}\"",
                printable(&action)
            ),
        )
        .with_arg("ACTION_NAME", printable(&action))
        .with_arg("SERVICE_NAME", service_lc.clone()));
    }

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
    let call = Call { state, client_ip };

    match (service_lc.as_str(), action_lc.as_str()) {
        ("user", "loginbyloginid") => user::login_by_login_id(&call, &params).await,
        ("user", "generateqrcode") => user::generate_qr_code(&call, &params).await,
        ("user", "resetpassword") => user::reset_password(&call, &params).await,
        ("user", "validatehashkey") => user::validate_hash_key(&call, &params).await,
        ("user" | "adminuser", "setinitialpassword") => {
            user::set_initial_password(&call, &params).await
        }
        ("user", "loginbyks") => user::login_by_ks(&call, &params).await,
        ("user", "get") => user::get(&call, &params).await,
        ("adminuser", "updatepassword") => admin_user::update_password(&call, &params).await,
        ("partner", "listpartnersforuser") => partner::list_for_user(&call, &params).await,
        ("partner", "getinfo") => partner::get_info(&call, &params).await,
        ("session", "end") => session::end(&call, &params).await,
        _ => Err(ApiError::new(
            codes::ACTION_DOES_NOT_EXISTS,
            "Unknown action",
        )),
    }
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
    fn a_hostile_service_name_is_echoed_only_as_printable_ascii() {
        assert_eq!(printable("<script>\u{0}é x"), "<script>x");
    }
}
