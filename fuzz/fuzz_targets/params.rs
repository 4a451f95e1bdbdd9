//! The server's request-parameter reader, `kmc_server::params::Params`: a hostile body, content
//! type and parameter names must only ever give parameters or a Kaltura error (never a panic),
//! and a parsed body must answer every typed getter without panicking.
//!
//! Input layout: the first byte picks the content type, the next byte how many bytes of name
//! follow (the parameter the getters are asked for), the rest is the body.
#![no_main]

use http::{HeaderMap, HeaderValue, header};
use kmc_server::params::Params;
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/x-www-form-urlencoded; charset=latin1",
    "text/plain",
    "",
];

/// The names the actions read, plus `ks` (set apart by the reader).
const NAMES: &[&str] = &[
    "loginId",
    "password",
    "partnerId",
    "expiry",
    "privileges",
    "otp",
    "hashKey",
    "newPassword",
    "email",
    "newEmail",
    "requestedPartnerId",
    "partnerFilter",
    "pager",
    "ks",
];

fuzz_target!(|data: &[u8]| {
    let Some((&ct, rest)) = data.split_first() else {
        return;
    };
    let Some((&name_len, rest)) = rest.split_first() else {
        return;
    };
    let name_len = usize::from(name_len % 16).min(rest.len());
    let (name, body) = rest.split_at(name_len);
    let name = String::from_utf8_lossy(name);

    let mut headers = HeaderMap::new();
    let ct = usize::from(ct);
    if ct < CONTENT_TYPES.len() * 8 {
        // Most inputs name one of the real content types; the rest send none.
        let v = CONTENT_TYPES[ct % CONTENT_TYPES.len()];
        if !v.is_empty() {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(v));
        }
    }
    let Ok(params) = Params::from_body(&headers, body) else {
        return;
    };
    for n in NAMES.iter().copied().chain(std::iter::once(name.as_ref())) {
        let _ = params.string(n);
        let _ = params.opt_string(n);
        let _ = params.non_empty(n);
        let _ = params.opt_i64(n);
        let _ = params.i64(n);
        let _ = params.opt_object(n);
    }
});
