//! JSON in and out of the app, through serde and the browser's own parser.
//!
//! The wire types are the serde derives of `kaltura-api`, shared with the
//! server. In the browser the text is parsed by `JSON.parse` and written by
//! `JSON.stringify`, and serde-wasm-bindgen maps the JavaScript values
//! through those derives, so no JSON parser or writer is linked into the
//! wasm. The native build (the unit tests) does the same through serde_json.
//!
//! Serves: [`decode_reply`] (a reply body: the value, or the
//! `KalturaAPIException`), [`from_text`] (`config.json`) and [`call_body`]
//! (request bodies).

use kaltura_api::ReplyError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Reads a reply body as the action's value, or as the API error when it is
/// an object whose `objectType` is `KalturaAPIException`; anything else
/// (not JSON, another shape) is [`ReplyError::Garbled`].
pub fn decode_reply<T: DeserializeOwned>(body: &str) -> Result<T, ReplyError> {
    imp::decode_reply(body)
}

/// Reads a JSON text as `T`; the error says why not.
pub fn from_text<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    imp::from_text(text)
}

/// The JSON text of a call's body: `ks` first when given, then the members
/// of `params` in declaration order, then `clientTag`.
pub fn call_body<P: Serialize>(ks: Option<&str>, params: &P, client_tag: &str) -> String {
    imp::call_body(ks, params, client_tag)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use kaltura_api::{ReplyError, decode_parsed};
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use wasm_bindgen::{JsCast, JsValue};

    /// `JSON.parse`, with the reason as text when it throws.
    fn parse(text: &str) -> Result<JsValue, String> {
        js_sys::JSON::parse(text).map_err(|e| {
            e.dyn_ref::<js_sys::Error>()
                .map_or_else(|| "not JSON".into(), |e| String::from(e.message()))
        })
    }

    pub fn decode_reply<T: DeserializeOwned>(body: &str) -> Result<T, ReplyError> {
        let value = parse(body).map_err(ReplyError::Garbled)?;
        // `Reflect.get` throws on a primitive (a bare KS string, `null`).
        let object_type = value
            .is_object()
            .then(|| js_sys::Reflect::get(&value, &JsValue::from_str("objectType")).ok())
            .flatten()
            .and_then(|t| t.as_string());
        decode_parsed(
            serde_wasm_bindgen::Deserializer::from(value),
            object_type.as_deref(),
        )
    }

    pub fn from_text<T: DeserializeOwned>(text: &str) -> Result<T, String> {
        serde_wasm_bindgen::from_value(parse(text)?).map_err(|e| e.to_string())
    }

    pub fn call_body<P: Serialize>(ks: Option<&str>, params: &P, client_tag: &str) -> String {
        use js_sys::{Object, Reflect};
        let body = Object::new();
        // Setting a property on a fresh plain object cannot fail.
        if let Some(ks) = ks {
            let _ = Reflect::set(&body, &"ks".into(), &ks.into());
        }
        // JSON-compatible: maps as plain objects, 64-bit integers as numbers.
        // Only an integer beyond 2^53 fails, which no parameter holds; the
        // server then refuses the call for the missing parameters.
        if let Ok(params) = params.serialize(&serde_wasm_bindgen::Serializer::json_compatible()) {
            Object::assign(&body, params.unchecked_ref());
        }
        let _ = Reflect::set(&body, &"clientTag".into(), &client_tag.into());
        js_sys::JSON::stringify(&body)
            .map(String::from)
            .unwrap_or_default()
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    pub use kaltura_api::decode_reply;

    pub fn from_text<T: DeserializeOwned>(text: &str) -> Result<T, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// The body as one struct, its parameters flattened in: serde_json
    /// writes members in order.
    #[derive(Serialize)]
    struct Body<'a, P> {
        #[serde(skip_serializing_if = "Option::is_none")]
        ks: Option<&'a str>,
        #[serde(flatten)]
        params: &'a P,
        #[serde(rename = "clientTag")]
        client_tag: &'a str,
    }

    pub fn call_body<P: Serialize>(ks: Option<&str>, params: &P, client_tag: &str) -> String {
        serde_json::to_string(&Body {
            ks,
            params,
            client_tag,
        })
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kaltura_api::responses::KalturaPartner;
    use serde::de::IgnoredAny;

    #[test]
    fn a_bare_string_null_an_object_and_an_exception_are_told_apart() {
        assert_eq!(decode_reply::<String>("\"djJ8ks\"").unwrap(), "djJ8ks");
        decode_reply::<IgnoredAny>("null").unwrap();
        let p: KalturaPartner =
            decode_reply(r#"{"id":1,"name":"A \/ B","objectType":"KalturaPartner"}"#).unwrap();
        assert_eq!(p.name, "A / B");
        match decode_reply::<String>(
            r#"{"code":"MISSING_OTP","message":"m","objectType":"KalturaAPIException","args":[]}"#,
        ) {
            Err(ReplyError::Api(e)) => assert_eq!(e.code, "MISSING_OTP"),
            other => panic!("expected an API error, got {other:?}"),
        }
        assert!(matches!(
            decode_reply::<IgnoredAny>("<html>"),
            Err(ReplyError::Garbled(_))
        ));
        assert!(matches!(
            decode_reply::<KalturaPartner>("\"djJ8ks\""),
            Err(ReplyError::Garbled(_))
        ));
    }
}
