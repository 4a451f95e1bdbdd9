//! The one server error type. Every failure, from a malformed body to a wrong
//! code, leaves as a Kaltura error object (`KalturaAPIException`) so the app
//! and Kaltura's own clients read it the same way; internal failures are
//! logged with their cause and answered with a generic code, never a 500 page.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kaltura_api::{KalturaApiError, codes};

/// An error answered to an API caller.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A protocol-level error with its Kaltura code and arguments.
    #[error("{0}")]
    Kaltura(KalturaApiError),
    /// The body exceeded the size limit (answered with HTTP 413).
    #[error("request body too large")]
    TooLarge,
    /// Something broke inside the server (database, mail, key file). The
    /// cause is logged, the caller only sees `INTERNAL_SERVER_ERROR`.
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with a code and message and no arguments.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self::Kaltura(KalturaApiError::new(code, message))
    }

    /// Adds an argument (`args.NAME`).
    pub fn with_arg(self, name: &str, value: impl Into<String>) -> Self {
        match self {
            Self::Kaltura(e) => Self::Kaltura(e.with_arg(name, value)),
            other => other,
        }
    }

    /// The Kaltura code this error goes out with.
    pub fn code(&self) -> &str {
        match self {
            Self::Kaltura(e) => &e.code,
            Self::TooLarge => codes::INVALID_REQUEST,
            Self::Internal(_) => codes::INTERNAL_SERVER_ERROR,
        }
    }

    /// `INVALID_REQUEST` with a reason.
    pub fn invalid_request(reason: impl Into<String>) -> Self {
        Self::new(codes::INVALID_REQUEST, reason)
    }

    /// `MISSING_MANDATORY_PARAMETER` for one parameter.
    pub fn missing(name: &str) -> Self {
        Self::new(
            codes::MISSING_MANDATORY_PARAMETER,
            format!("Missing parameter \"{name}\""),
        )
        .with_arg("PARAM_NAME", name)
    }

    /// `INVALID_PARAMETER_TYPE` for one parameter.
    pub fn wrong_type(name: &str, expected: &str) -> Self {
        Self::new(
            codes::INVALID_PARAMETER_TYPE,
            format!("Invalid type for parameter \"{name}\": expected {expected}"),
        )
        .with_arg("PARAM_NAME", name)
    }

    /// `INVALID_KS` with `args.KSID` (`EXPIRED`, `LOGOUT` or `INVALID`).
    pub fn invalid_ks(ksid: &str) -> Self {
        Self::new(codes::INVALID_KS, format!("Invalid KS. Error: {ksid}")).with_arg("KSID", ksid)
    }

    /// The wire body of this error.
    pub fn to_body(&self) -> KalturaApiError {
        match self {
            Self::Kaltura(e) => e.clone(),
            Self::TooLarge => KalturaApiError::new(
                codes::INVALID_REQUEST,
                "Request body is larger than the 64 KiB limit",
            ),
            Self::Internal(_) => KalturaApiError::new(
                codes::INTERNAL_SERVER_ERROR,
                "Internal server error, please try again later",
            ),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<KalturaApiError> for ApiError {
    fn from(e: KalturaApiError) -> Self {
        Self::Kaltura(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            // The cause never holds request secrets: it comes from the
            // database, the mailer or the key file.
            tracing::error!(error = %cause, "internal error while answering an API call");
        }
        // Kaltura answers errors with HTTP 200; only an oversized body gets
        // 413 (allowed by the contract) so proxies see why.
        let status = match self {
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::OK,
        };
        json_response(status, &self.to_body())
    }
}

/// A JSON reply with the given status.
pub fn json_response<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
