//! The app's JSON path in the browser: replies parsed by `JSON.parse` and read
//! through the `kaltura-api` serde derives by serde-wasm-bindgen, and request
//! bodies written by `JSON.stringify`. The native unit tests of `src/wire.rs`
//! check the same cases through serde_json; these check the wasm build.
#![cfg(target_arch = "wasm32")]

use kaltura_api::ReplyError;
use kaltura_api::requests::{ListActivePartners, LoginByLoginId};
use kaltura_api::responses::{
    KalturaAuthentication, KalturaPartner, KalturaPartnerListResponse, KalturaUser,
};
use kmc_login::wire::{call_body, decode_reply, from_text};
use serde::de::IgnoredAny;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn a_bare_string_null_and_a_base64_png_with_escaped_slashes_are_values() {
    assert_eq!(
        decode_reply::<String>(r#""djJ8MTAyfA==""#).unwrap(),
        "djJ8MTAyfA=="
    );
    decode_reply::<IgnoredAny>("null").unwrap();
    assert_eq!(
        decode_reply::<String>(r#""iVBORw0KGgo\/AAAANSUhEUg+\/\/8=""#).unwrap(),
        "iVBORw0KGgo/AAAANSUhEUg+//8="
    );
    let auth: KalturaAuthentication =
        decode_reply(r#"{"qrCode":"iVBO\/w==","objectType":"KalturaAuthentication"}"#).unwrap();
    assert_eq!(auth.qr_code.as_deref(), Some("iVBO/w=="));
}

#[wasm_bindgen_test]
fn objects_read_with_kalturas_escapes_extra_fields_and_defaults() {
    let p: KalturaPartner = decode_reply(
        r#"{"id":102,"name":"Caf\u00e9 \/ M\u00fcnchen \ud83c\udfac","website":"x","objectType":"KalturaPartner"}"#,
    )
    .unwrap();
    assert_eq!(p, KalturaPartner::new(102, "Café / München 🎬".into()));
    let list: KalturaPartnerListResponse =
        decode_reply(r#"{"objects":[{"id":1},{"id":2,"name":"B"}],"totalCount":2}"#).unwrap();
    assert_eq!(list.objects.len(), 2);
    let user: KalturaUser =
        decode_reply(r#"{"id":"ada","partnerId":101,"isAdmin":true,"status":1}"#).unwrap();
    assert_eq!(
        (user.partner_id, user.is_admin, user.email),
        (101, true, None)
    );
}

#[wasm_bindgen_test]
fn an_exception_is_an_api_error_with_either_args_shape() {
    match decode_reply::<String>(
        r#"{"code":"MISSING_OTP","message":"OTP is missing","objectType":"KalturaAPIException","args":[]}"#,
    ) {
        Err(ReplyError::Api(e)) => assert!(e.code == "MISSING_OTP" && e.args.is_empty()),
        other => panic!("expected MISSING_OTP, got {other:?}"),
    }
    match decode_reply::<KalturaUser>(
        r#"{"code":"INVALID_KS","message":"m","objectType":"KalturaAPIException","args":{"KSID":"EXPIRED","N":5,"O":{"a":1}}}"#,
    ) {
        Err(ReplyError::Api(e)) => {
            assert_eq!(e.arg("KSID"), Some("EXPIRED"));
            assert_eq!(e.arg("N"), Some("5"));
            assert_eq!(e.arg("O"), None);
        }
        other => panic!("expected INVALID_KS, got {other:?}"),
    }
}

#[wasm_bindgen_test]
fn html_wrong_shapes_and_an_exception_without_a_code_are_garbled() {
    for body in [
        "<html>502 Bad Gateway</html>",
        "",
        r#"{"objectType":"KalturaAPIException","message":"m"}"#,
        r#"{"id":"7"}"#,
        r#"{"id":7.5}"#,
        r#""a string""#,
    ] {
        assert!(
            matches!(
                decode_reply::<KalturaPartner>(body),
                Err(ReplyError::Garbled(_))
            ),
            "{body}"
        );
    }
}

#[wasm_bindgen_test]
fn a_body_has_the_ks_first_the_parameters_in_order_and_the_client_tag_last() {
    let params = LoginByLoginId {
        login_id: "a\"@b.c".into(),
        password: "p\\w é".into(),
        partner_id: None,
        expiry: Some(86_400),
        privileges: None,
        otp: Some(String::new()),
    };
    assert_eq!(
        call_body(Some("djJ8"), &params, "kmc-login"),
        r#"{"ks":"djJ8","loginId":"a\"@b.c","password":"p\\w é","expiry":86400,"otp":"","clientTag":"kmc-login"}"#
    );
    assert_eq!(
        call_body(None, &ListActivePartners::default(), "t"),
        r#"{"partnerFilter":{"objectType":"KalturaPartnerFilter","statusEqual":1},"pager":{"objectType":"KalturaFilterPager","pageSize":500},"clientTag":"t"}"#
    );
}

#[wasm_bindgen_test]
fn from_text_reads_an_object_and_explains_a_refusal() {
    #[derive(Debug, serde::Deserialize)]
    struct Shape {
        n: i64,
    }
    assert_eq!(from_text::<Shape>(r#"{"n":3,"x":[]}"#).unwrap().n, 3);
    assert!(!from_text::<Shape>("{").unwrap_err().is_empty());
    assert!(!from_text::<Shape>(r#"{"n":"3"}"#).unwrap_err().is_empty());
}
