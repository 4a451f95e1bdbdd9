//! The reply decoding in `kaltura-api`: `decode_reply` (serde_json, then `decode_parsed`, which
//! the app runs over the browser's `JSON.parse`) for every type the app reads. Checked here:
//! - no input panics `decode_reply`;
//! - an object whose `objectType` is `KalturaAPIException` is never read as a value;
//! - an API error written back with serde reads as the same error (the `args` reader).
#![no_main]

use kaltura_api::responses::{
    KalturaAdminUser, KalturaAuthentication, KalturaPartner, KalturaPartnerListResponse,
    KalturaSessionResponse, KalturaUser,
};
use kaltura_api::{ReplyError, decode_reply};
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = decode_reply::<String>(text);
    let _ = decode_reply::<KalturaAuthentication>(text);
    let _ = decode_reply::<KalturaAdminUser>(text);
    let _ = decode_reply::<KalturaSessionResponse>(text);
    let _ = decode_reply::<KalturaPartner>(text);
    let _ = decode_reply::<KalturaPartnerListResponse>(text);
    let _ = decode_reply::<KalturaUser>(text);

    let any = decode_reply::<IgnoredAny>(text);
    let is_exception = serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| {
        v.get("objectType").and_then(serde_json::Value::as_str) == Some("KalturaAPIException")
    });
    assert!(!(is_exception && any.is_ok()), "an exception read as a value: {text:?}");
    if let Err(ReplyError::Api(e)) = any {
        let written = serde_json::to_string(&e).unwrap();
        match decode_reply::<IgnoredAny>(&written) {
            Err(ReplyError::Api(again)) => {
                assert_eq!(again, e, "{text:?} written back as {written:?}")
            }
            other => panic!("{written:?} read back as {other:?}"),
        }
    }
});
