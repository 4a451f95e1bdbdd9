//! Reading an action's parameters from the request body.
//!
//! Kaltura clients send either JSON (`Content-Type: application/json`, which
//! we also accept with a `charset`) or `application/x-www-form-urlencoded`
//! with the same flat names. Both become one [`Params`] map; the typed
//! accessors turn a missing or mistyped value into Kaltura's
//! `MISSING_MANDATORY_PARAMETER` / `INVALID_PARAMETER_TYPE`, so every bad
//! input gets a clear code instead of a panic or an HTML page.

use axum::http::{HeaderMap, header};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The parameters of one call, with the session key set apart.
#[derive(Default)]
pub struct Params {
    map: Map<String, Value>,
    /// True for form bodies, whose values are all text.
    form: bool,
    /// The `ks` parameter, when present and non-empty.
    pub ks: Option<String>,
}

impl Params {
    /// Parses a body according to its content type.
    pub fn from_body(headers: &HeaderMap, body: &[u8]) -> ApiResult<Self> {
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::TooLarge);
        }
        let trimmed_empty = body.iter().all(|b| b.is_ascii_whitespace());
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        let mut params = match content_type.as_deref() {
            _ if trimmed_empty => Self::default(),
            Some("application/json") => Self::from_json(body)?,
            Some("application/x-www-form-urlencoded") => Self::from_form(body)?,
            Some(_) | None => {
                return Err(ApiError::invalid_request(
                    "Unsupported Content-Type: send application/json or application/x-www-form-urlencoded",
                ));
            }
        };
        params.ks = match params.map.remove("ks") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(ApiError::wrong_type("ks", "a string")),
        };
        Ok(params)
    }

    fn from_json(body: &[u8]) -> ApiResult<Self> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid_request(format!("Malformed JSON body: {e}")))?;
        match value {
            Value::Object(map) => Ok(Self {
                map,
                form: false,
                ks: None,
            }),
            _ => Err(ApiError::invalid_request(
                "The JSON body must be an object of parameters",
            )),
        }
    }

    fn from_form(body: &[u8]) -> ApiResult<Self> {
        if std::str::from_utf8(body).is_err() {
            return Err(ApiError::invalid_request("The form body is not UTF-8"));
        }
        let mut map = Map::new();
        for (k, v) in form_urlencoded::parse(body) {
            map.insert(k.into_owned(), Value::String(v.into_owned()));
        }
        Ok(Self {
            map,
            form: true,
            ks: None,
        })
    }

    /// A parameter that must be present as text (an empty string counts as
    /// present: `otp: ""` and `newEmail: ""` are meaningful).
    pub fn string(&self, name: &str) -> ApiResult<String> {
        self.opt_string(name)?
            .ok_or_else(|| ApiError::missing(name))
    }

    /// A text parameter that may be absent (`null` counts as absent).
    /// Numbers are accepted as their text, as Kaltura's loose PHP does.
    pub fn opt_string(&self, name: &str) -> ApiResult<Option<String>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(ApiError::wrong_type(name, "a string")),
        }
    }

    /// A non-empty text parameter that must be present.
    pub fn non_empty(&self, name: &str) -> ApiResult<String> {
        let s = self.string(name)?;
        if s.trim().is_empty() {
            Err(ApiError::missing(name))
        } else {
            Ok(s)
        }
    }

    /// An integer parameter that may be absent. Accepts a JSON integer or a
    /// decimal string (form bodies); rejects fractions and out-of-range
    /// numbers with `INVALID_PARAMETER_TYPE`.
    pub fn opt_i64(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ApiError::wrong_type(name, "an integer")),
            Some(Value::String(s)) if s.trim().is_empty() && self.form => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::wrong_type(name, "an integer")),
            Some(_) => Err(ApiError::wrong_type(name, "an integer")),
        }
    }

    /// An integer parameter that must be present.
    pub fn i64(&self, name: &str) -> ApiResult<i64> {
        self.opt_i64(name)?.ok_or_else(|| ApiError::missing(name))
    }

    /// A structured parameter (object) passed through untyped; form bodies
    /// have none.
    pub fn opt_object(&self, name: &str) -> ApiResult<Option<Value>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
            Some(Value::String(_)) if self.form => Ok(None),
            Some(_) => Err(ApiError::wrong_type(name, "an object")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use kaltura_api::codes;

    fn headers(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        h
    }

    #[test]
    fn json_with_charset_is_accepted_and_ks_is_set_apart() {
        let p = Params::from_body(
            &headers("application/json; charset=utf-8"),
            br#"{"ks":"abc","loginId":"a@b.c"}"#,
        )
        .unwrap();
        assert_eq!(p.ks.as_deref(), Some("abc"));
        assert_eq!(p.string("loginId").unwrap(), "a@b.c");
        assert!(p.opt_string("ks").unwrap().is_none());
    }

    #[test]
    fn form_bodies_give_text_values_and_integers_parse_from_text() {
        let p = Params::from_body(
            &headers("application/x-www-form-urlencoded"),
            b"loginId=a%40b.c&partnerId=101&otp=",
        )
        .unwrap();
        assert_eq!(p.string("loginId").unwrap(), "a@b.c");
        assert_eq!(p.opt_i64("partnerId").unwrap(), Some(101));
        assert_eq!(p.string("otp").unwrap(), "");
    }

    #[test]
    fn wrong_types_and_missing_values_name_the_parameter() {
        let p = Params::from_body(
            &headers("application/json"),
            br#"{"loginId":["x"],"partnerId":1.5}"#,
        )
        .unwrap();
        let e = p.string("loginId").unwrap_err().to_body();
        assert_eq!(e.code, codes::INVALID_PARAMETER_TYPE);
        assert_eq!(e.arg("PARAM_NAME"), Some("loginId"));
        assert_eq!(
            p.opt_i64("partnerId").unwrap_err().code(),
            codes::INVALID_PARAMETER_TYPE
        );
        let e = p.string("password").unwrap_err().to_body();
        assert_eq!(e.code, codes::MISSING_MANDATORY_PARAMETER);
        assert_eq!(e.arg("PARAM_NAME"), Some("password"));
    }

    #[test]
    fn unsupported_content_types_and_non_objects_are_invalid_requests() {
        for (ct, body) in [
            ("text/plain", &b"{}"[..]),
            ("application/json", b"[1,2]"),
            ("application/json", b"{"),
        ] {
            let e = Params::from_body(&headers(ct), body).err().unwrap();
            assert_eq!(e.code(), codes::INVALID_REQUEST, "{ct}");
        }
    }
}
