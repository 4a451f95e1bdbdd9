//! Wire types of the Kaltura API v3 subset that KMC Login speaks.
//!
//! Shared by the app (`kmc-login`, compiled to wasm) and the reference server
//! (`kmc-server`), so both sides agree on every field name by construction.
//! Serves:
//! - [`error`]: the `KalturaAPIException` body and the error codes both sides use;
//! - [`requests`]: the parameters of each action, as the JSON body carries them;
//! - [`responses`]: the objects the actions return;
//! - [`otpauth`]: the `otpauth://` URI (Google's Key Uri Format);
//! - [`decode_parsed`]: turning a parsed reply into a value or an API error,
//!   whichever JSON parser parsed it (the browser's `JSON.parse` through
//!   serde-wasm-bindgen in the app, serde_json elsewhere);
//! - [`decode_reply`] (feature `json`): the same from the reply's text.
//!
//! Every type is read and written through serde only: the app and the server
//! share the derives, so there is one definition of the wire to keep correct.

pub mod error;
pub mod otpauth;
pub mod requests;
pub mod responses;

use serde::{Deserialize, Deserializer};

pub use error::{ErrorArgs, KalturaApiError, codes};
pub use otpauth::{OtpAuthError, OtpAuthUri};

/// The path of an action, relative to the service URL, with `format=1` (JSON).
pub fn action_path(service: &str, action: &str) -> String {
    format!("/api_v3/service/{service}/action/{action}?format=1")
}

/// Why a reply body could not be turned into the expected value.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyError {
    /// The server answered with a `KalturaAPIException`.
    Api(KalturaApiError),
    /// The body was not JSON, or not the shape the action returns.
    Garbled(String),
}

/// Decodes a parsed reply: either the action's value or, when the reply is an
/// object whose `objectType` is `KalturaAPIException`, the API error.
///
/// `reply` is any serde deserializer over the parsed body (a
/// `serde_wasm_bindgen::Deserializer` over `JSON.parse`'s value in the app, a
/// `serde_json::Value` elsewhere); `object_type` is the body's `objectType`
/// when it is an object that has a string one. Kaltura answers errors with
/// HTTP 200, so the body decides, not the status.
pub fn decode_parsed<'de, D, T>(reply: D, object_type: Option<&str>) -> Result<T, ReplyError>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    if object_type == Some(error::EXCEPTION_OBJECT_TYPE) {
        return Err(KalturaApiError::deserialize(reply).map_or_else(
            |_| ReplyError::Garbled("an exception without a code".into()),
            ReplyError::Api,
        ));
    }
    T::deserialize(reply)
        .map_err(|_| ReplyError::Garbled("not the shape the action returns".into()))
}

/// Decodes a reply body from its text with serde_json (see [`decode_parsed`]).
#[cfg(feature = "json")]
pub fn decode_reply<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, ReplyError> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| ReplyError::Garbled(e.to_string()))?;
    let object_type = value
        .get("objectType")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    decode_parsed(value, object_type.as_deref())
}

#[cfg(all(test, feature = "json"))]
mod tests {
    use super::*;
    use crate::responses::{KalturaAuthentication, KalturaPartner};
    use serde::de::IgnoredAny;

    #[test]
    fn action_path_asks_for_json() {
        assert_eq!(
            action_path("user", "loginByLoginId"),
            "/api_v3/service/user/action/loginByLoginId?format=1"
        );
    }

    #[test]
    fn decode_reply_reads_a_bare_ks_string() {
        assert_eq!(decode_reply::<String>("\"djJ8abc\"").unwrap(), "djJ8abc");
    }

    #[test]
    fn decode_reply_reads_null_as_a_value() {
        decode_reply::<()>("null").unwrap();
        decode_reply::<IgnoredAny>("null").unwrap();
    }

    #[test]
    fn decode_reply_reads_a_base64_png_with_escaped_slashes() {
        // Kaltura's `generateQrCode` answers the PNG's base64, with every `/` as `\/`.
        let body = r#""iVBORw0KGgo\/AAAANSUhEUg+\/\/8=""#;
        assert_eq!(
            decode_reply::<String>(body).unwrap(),
            "iVBORw0KGgo/AAAANSUhEUg+//8="
        );
        let body = r#"{"qrCode":"iVBO\/w==","objectType":"KalturaAuthentication"}"#;
        let auth = decode_reply::<KalturaAuthentication>(body).unwrap();
        assert_eq!(auth.qr_code.as_deref(), Some("iVBO/w=="));
    }

    #[test]
    fn decode_reply_reports_an_exception_without_a_code_as_garbled() {
        assert!(matches!(
            decode_reply::<IgnoredAny>(r#"{"objectType":"KalturaAPIException","message":"m"}"#),
            Err(ReplyError::Garbled(_))
        ));
    }

    #[test]
    fn decode_reply_turns_an_exception_with_empty_array_args_into_an_api_error() {
        let body = r#"{"code":"MISSING_OTP","message":"OTP is missing","objectType":"KalturaAPIException","args":[]}"#;
        match decode_reply::<String>(body) {
            Err(ReplyError::Api(e)) => {
                assert_eq!(e.code, codes::MISSING_OTP);
                assert!(e.args.is_empty());
            }
            other => panic!("expected an API error, got {other:?}"),
        }
    }

    #[test]
    fn decode_reply_turns_an_exception_with_object_args_into_an_api_error() {
        let body = r#"{"code":"PASSWORD_STRUCTURE_INVALID","message":"bad","objectType":"KalturaAPIException","args":{"RULES":"at least 8 characters"}}"#;
        match decode_reply::<IgnoredAny>(body) {
            Err(ReplyError::Api(e)) => assert_eq!(e.arg("RULES"), Some("at least 8 characters")),
            other => panic!("expected an API error, got {other:?}"),
        }
    }

    #[test]
    fn decode_reply_reads_kalturas_escaped_slashes_and_non_ascii() {
        // Kaltura's PHP json_encode writes `/` as `\/` and every non-ASCII
        // character as `\uXXXX` (astral ones as a surrogate pair).
        let body = r#"{"id":102,"name":"Caf\u00e9 \/ M\u00fcnchen \ud83c\udfac","objectType":"KalturaPartner"}"#;
        let partner = decode_reply::<KalturaPartner>(body).unwrap();
        assert_eq!(partner.name, "Café / München 🎬");
    }

    #[test]
    fn decode_reply_reports_html_as_garbled() {
        assert!(matches!(
            decode_reply::<String>("<html>502 Bad Gateway</html>"),
            Err(ReplyError::Garbled(_))
        ));
    }

    #[test]
    fn decode_reply_reports_a_wrong_shape_as_garbled() {
        assert!(matches!(
            decode_reply::<KalturaPartner>("\"a string\""),
            Err(ReplyError::Garbled(_))
        ));
    }
}
