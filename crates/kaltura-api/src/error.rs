//! The `KalturaAPIException` body and the error codes of the protocol.
//!
//! Kaltura sends `args` as `[]` when an error has no arguments and as an
//! object (`{"RULES":"…"}`) when it has some; [`ErrorArgs`] reads both and
//! writes the same two shapes. Its reader asks the deserializer for what it
//! holds (`deserialize_any`), so it works the same over serde_json and over
//! the browser's `JSON.parse` values (serde-wasm-bindgen).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `objectType` that marks a reply as an error.
pub const EXCEPTION_OBJECT_TYPE: &str = "KalturaAPIException";

/// Error codes, spelled as Kaltura spells them.
pub mod codes {
    // Login and 2FA.
    pub const USER_WRONG_PASSWORD: &str = "USER_WRONG_PASSWORD";
    pub const USER_NOT_FOUND: &str = "USER_NOT_FOUND";
    pub const LOGIN_DATA_NOT_FOUND: &str = "LOGIN_DATA_NOT_FOUND";
    pub const LOGIN_BLOCKED: &str = "LOGIN_BLOCKED";
    pub const LOGIN_RETRIES_EXCEEDED: &str = "LOGIN_RETRIES_EXCEEDED";
    pub const USER_IS_BLOCKED: &str = "USER_IS_BLOCKED";
    pub const INVALID_PARTNER_ID: &str = "INVALID_PARTNER_ID";
    pub const MISSING_OTP: &str = "MISSING_OTP";
    pub const INVALID_OTP: &str = "INVALID_OTP";
    pub const PASSWORD_EXPIRED: &str = "PASSWORD_EXPIRED";
    pub const DIRECT_LOGIN_BLOCKED: &str = "DIRECT_LOGIN_BLOCKED";
    pub const NEW_LOGIN_REQUIRED: &str = "NEW_LOGIN_REQUIRED";
    // Passwords.
    pub const PASSWORD_STRUCTURE_INVALID: &str = "PASSWORD_STRUCTURE_INVALID";
    pub const PASSWORD_ALREADY_USED: &str = "PASSWORD_ALREADY_USED";
    pub const COMMON_PASSWORD: &str = "COMMON_PASSWORD";
    pub const WRONG_OLD_PASSWORD: &str = "WRONG_OLD_PASSWORD";
    // Links (hash keys).
    pub const NEW_PASSWORD_HASH_KEY_INVALID: &str = "NEW_PASSWORD_HASH_KEY_INVALID";
    pub const NEW_PASSWORD_HASH_KEY_EXPIRED: &str = "NEW_PASSWORD_HASH_KEY_EXPIRED";
    pub const INVALID_HASH: &str = "INVALID_HASH";
    pub const ERROR_IN_QR_GENERATION: &str = "ERROR_IN_QR_GENERATION";
    // Sessions.
    pub const INVALID_KS: &str = "INVALID_KS";
    pub const MISSING_KS: &str = "MISSING_KS";
    pub const SERVICE_FORBIDDEN: &str = "SERVICE_FORBIDDEN";
    // Rate limiting.
    pub const RESOURCE_IS_RESERVED: &str = "RESOURCE_IS_RESERVED";
    // Request shape (ours, beyond Kaltura).
    pub const INVALID_REQUEST: &str = "INVALID_REQUEST";
    /// A parameter of the right type whose value is refused (`args.FIELD_NAME`).
    pub const INVALID_FIELD_VALUE: &str = "INVALID_FIELD_VALUE";
    pub const SERVICE_DOES_NOT_EXISTS: &str = "SERVICE_DOES_NOT_EXISTS";
    pub const ACTION_DOES_NOT_EXISTS: &str = "ACTION_DOES_NOT_EXISTS";
    pub const MISSING_MANDATORY_PARAMETER: &str = "MISSING_MANDATORY_PARAMETER";
    pub const INVALID_PARAMETER_TYPE: &str = "INVALID_PARAMETER_TYPE";
    /// Kaltura's own spelling (`KalturaErrors::INTERNAL_SERVERL_ERROR`), kept
    /// so clients that match on it see the same code from both servers.
    pub const INTERNAL_SERVERL_ERROR: &str = "INTERNAL_SERVERL_ERROR";

    /// `args.KSID` of `INVALID_KS` for a session past its expiry.
    pub const KSID_EXPIRED: &str = "EXPIRED";
    /// `args.KSID` of `INVALID_KS` for a session ended by `session.end`.
    pub const KSID_LOGOUT: &str = "LOGOUT";
    /// `args.ERR_CODE` of `INVALID_KS` as Kaltura's API front controller
    /// sends it for every session it refuses (`ks::INVALID_STR`); the reason
    /// itself travels in `args.KSID`.
    pub const KS_ERR_CODE_INVALID_STR: &str = "-1";
    /// `args.ERR_DESC` that goes with [`KS_ERR_CODE_INVALID_STR`].
    pub const KS_ERR_DESC_INVALID_STR: &str = "INVALID_STR";
}

/// The error body: `{"code","message","objectType":"KalturaAPIException","args"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KalturaApiError {
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(rename = "objectType", default = "exception_object_type")]
    pub object_type: String,
    #[serde(default)]
    pub args: ErrorArgs,
}

fn exception_object_type() -> String {
    EXCEPTION_OBJECT_TYPE.to_owned()
}

impl KalturaApiError {
    /// An error with no arguments.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            object_type: exception_object_type(),
            args: ErrorArgs::default(),
        }
    }

    /// Adds one argument (`args.NAME = value`).
    pub fn with_arg(mut self, name: &str, value: impl Into<String>) -> Self {
        self.args.0.insert(name.to_owned(), value.into());
        self
    }

    /// The value of one argument, when present.
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args.0.get(name).map(String::as_str)
    }
}

impl fmt::Display for KalturaApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for KalturaApiError {}

/// The `args` of an error: `[]` on the wire when empty, an object otherwise.
/// Kaltura's arguments are strings; a number or a boolean is kept as its JSON
/// text, `null` as `"null"`, and a nested array or object is skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorArgs(pub BTreeMap<String, String>);

impl ErrorArgs {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for ErrorArgs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            s.collect_seq(std::iter::empty::<()>())
        } else {
            s.collect_map(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for ErrorArgs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = ErrorArgs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array or an object of error arguments")
            }
            fn visit_unit<E: de::Error>(self) -> Result<ErrorArgs, E> {
                Ok(ErrorArgs::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<ErrorArgs, E> {
                Ok(ErrorArgs::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ErrorArgs, A::Error> {
                // Kaltura only sends an empty array; anything inside is ignored.
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(ErrorArgs::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ErrorArgs, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, ArgText>()? {
                    if let Some(text) = v.0 {
                        out.insert(k, text);
                    }
                }
                Ok(ErrorArgs(out))
            }
        }
        d.deserialize_any(ArgsVisitor)
    }
}

/// One argument's value as text: `None` for a nested array or object.
struct ArgText(Option<String>);

impl<'de> Deserialize<'de> for ArgText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = ArgText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an error argument")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ArgText, E> {
                Ok(ArgText(Some(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<ArgText, E> {
                Ok(ArgText(Some(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ArgText, E> {
                Ok(ArgText(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ArgText, E> {
                Ok(ArgText(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ArgText, E> {
                Ok(ArgText(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ArgText, E> {
                Ok(ArgText(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<ArgText, E> {
                Ok(ArgText(Some("null".into())))
            }
            fn visit_none<E: de::Error>(self) -> Result<ArgText, E> {
                self.visit_unit()
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ArgText, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(ArgText(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ArgText, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(ArgText(None))
            }
        }
        d.deserialize_any(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_args_shape_kaltura_sends_is_read() {
        for (text, args) in [
            (
                r#"{"code":"MISSING_OTP","message":"OTP is missing","objectType":"KalturaAPIException","args":[]}"#,
                vec![],
            ),
            (
                r#"{"code":"INVALID_KS","message":"m","objectType":"KalturaAPIException","args":{"KSID":"EXPIRED"}}"#,
                vec![("KSID", "EXPIRED")],
            ),
            (
                r#"{"code":"X","message":"m","objectType":"KalturaAPIException","args":{"N":5,"B":true,"O":{"a":[1]},"Z":null}}"#,
                vec![("B", "true"), ("N", "5"), ("Z", "null")],
            ),
            (
                r#"{"code":"X","objectType":"KalturaAPIException","args":null}"#,
                vec![],
            ),
            (r#"{"code":"X","objectType":"KalturaAPIException"}"#, vec![]),
        ] {
            let read: KalturaApiError = serde_json::from_str(text).unwrap();
            let want: BTreeMap<String, String> = args
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            assert_eq!(read.args.0, want, "{text}");
        }
        let written = serde_json::to_string(
            &KalturaApiError::new(codes::INVALID_KS, "Invalid KS").with_arg("KSID", "LOGOUT"),
        )
        .unwrap();
        let read: KalturaApiError = serde_json::from_str(&written).unwrap();
        assert_eq!(read.arg("KSID"), Some("LOGOUT"));
    }

    #[test]
    fn an_error_without_a_code_or_with_string_args_is_refused() {
        for text in [
            r#"{"message":"m","objectType":"KalturaAPIException"}"#,
            r#"{"code":5,"objectType":"KalturaAPIException"}"#,
            r#"{"code":"X","objectType":"KalturaAPIException","args":"oops"}"#,
        ] {
            assert!(
                serde_json::from_str::<KalturaApiError>(text).is_err(),
                "{text}"
            );
        }
    }

    #[test]
    fn an_error_without_args_serialises_args_as_an_empty_array() {
        let e = KalturaApiError::new(codes::MISSING_OTP, "OTP is missing");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":"MISSING_OTP","message":"OTP is missing","objectType":"KalturaAPIException","args":[]}"#
        );
    }

    #[test]
    fn an_error_with_args_serialises_args_as_an_object() {
        let e = KalturaApiError::new(codes::INVALID_KS, "Invalid KS").with_arg("KSID", "EXPIRED");
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(v["args"]["KSID"], "EXPIRED");
    }

    #[test]
    fn args_read_numbers_as_text_and_null_as_empty() {
        let e: KalturaApiError = serde_json::from_str(
            r#"{"code":"X","message":"m","objectType":"KalturaAPIException","args":{"N":5}}"#,
        )
        .unwrap();
        assert_eq!(e.arg("N"), Some("5"));
        let e: KalturaApiError =
            serde_json::from_str(r#"{"code":"X","objectType":"KalturaAPIException","args":null}"#)
                .unwrap();
        assert!(e.args.is_empty());
        assert_eq!(e.message, "");
    }
}
