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
    /// cause is logged, the caller only sees `INTERNAL_SERVERL_ERROR`
    /// (Kaltura's spelling, so clients matching Kaltura's code see it too).
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
            Self::Internal(_) => codes::INTERNAL_SERVERL_ERROR,
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

    /// `INVALID_KS` as Kaltura's API front controller sends it for a refused
    /// session: the reason (`EXPIRED`, `LOGOUT` or `INVALID`) in `args.KSID`,
    /// then `ERR_CODE` `-1` and `ERR_DESC` `INVALID_STR`, and the message
    /// built from Kaltura's template. Clients written against Kaltura read
    /// any of the three.
    pub fn invalid_ks(ksid: &str) -> Self {
        Self::new(
            codes::INVALID_KS,
            format!(
                "Invalid KS \"{ksid}\", Error \"{},{}\"",
                codes::KS_ERR_CODE_INVALID_STR,
                codes::KS_ERR_DESC_INVALID_STR
            ),
        )
        .with_arg("KSID", ksid)
        .with_arg("ERR_CODE", codes::KS_ERR_CODE_INVALID_STR)
        .with_arg("ERR_DESC", codes::KS_ERR_DESC_INVALID_STR)
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
                codes::INTERNAL_SERVERL_ERROR,
                "Internal server error occurred",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_failure_goes_out_with_kalturas_spelling_and_no_cause() {
        let e = ApiError::Internal(anyhow::anyhow!("disk full at /var/lib/secret"));
        assert_eq!(e.code(), "INTERNAL_SERVERL_ERROR");
        let body = serde_json::to_value(e.to_body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "code": "INTERNAL_SERVERL_ERROR",
                "message": "Internal server error occurred",
                "objectType": "KalturaAPIException",
                "args": [],
            })
        );
    }

    #[test]
    fn invalid_ks_carries_ksid_err_code_and_err_desc_as_kaltura_sends_them() {
        let body =
            serde_json::to_value(ApiError::invalid_ks(codes::KSID_EXPIRED).to_body()).unwrap();
        assert_eq!(body["code"], "INVALID_KS");
        assert_eq!(
            body["args"],
            serde_json::json!({"KSID": "EXPIRED", "ERR_CODE": "-1", "ERR_DESC": "INVALID_STR"})
        );
        assert_eq!(
            body["message"],
            r#"Invalid KS "EXPIRED", Error "-1,INVALID_STR""#
        );
    }
}
