//! The HTTP surface: CORS, headers, hostile bodies, form bodies, the built
//! app (cache, SPA fallback, MIME, compression, CSP), and a real socket.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::*;
use http_body_util::BodyExt as _;
use kaltura_api::codes;
use serde_json::Value;

fn post(path: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::post(path);
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    b.body(body.into()).unwrap()
}

const LOGIN: &str = "/api_v3/service/user/action/loginByLoginId?format=1";

#[tokio::test]
async fn preflight_is_answered_like_kalturas_without_credentials() {
    let t = app().await;
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri(LOGIN)
        .header(header::ORIGIN, "https://kmc.example.org")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
        .body(Body::empty())
        .unwrap();
    let resp = t.send(req).await;
    assert!(resp.status().is_success());
    let h = resp.headers();
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert_eq!(h[header::ACCESS_CONTROL_MAX_AGE], "86400");
    let methods = h[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap()
        .to_ascii_uppercase();
    for m in ["POST", "GET", "HEAD", "OPTIONS"] {
        assert!(methods.contains(m), "{methods}");
    }
    let allowed = h[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "origin",
        "x-requested-with",
        "content-type",
        "accept",
        "range",
        "cache-control",
    ] {
        assert!(allowed.contains(name), "{allowed}");
    }
    assert!(h.get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none());
}

#[tokio::test]
async fn api_replies_carry_cors_no_store_and_security_headers() {
    let t = app().await;
    let req = Request::post(LOGIN)
        .header(header::ORIGIN, "https://kmc.example.org")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"loginId":"a@b.c","password":"x"}"#))
        .unwrap();
    let resp = t.send(req).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    assert_eq!(h[header::CONTENT_TYPE], "application/json");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
    assert!(
        h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let v = json_of(resp).await;
    assert_error(&v, codes::USER_WRONG_PASSWORD);
    assert_eq!(v["args"], serde_json::json!([]));
    assert_eq!(v["message"], "Wrong username or password");
}

#[tokio::test]
async fn form_bodies_work_like_json_with_the_same_flat_names() {
    let t = app().await;
    let p = t.login_in(&[("Sandbox", false)]).await[0];
    let body = format!(
        "loginId=ada%40example.com&password={}&partnerId={p}&otp=",
        PASSWORD.replace(' ', "+")
    );
    let resp = t
        .send(post(LOGIN, Some("application/x-www-form-urlencoded"), body))
        .await;
    let ks = json_of(resp).await;
    assert!(ks.is_string(), "{ks}");
    let resp = t
        .send(post(
            "/api_v3/service/user/action/get",
            Some("application/x-www-form-urlencoded"),
            format!("ks={}", ks.as_str().unwrap()),
        ))
        .await;
    assert_eq!(json_of(resp).await["id"], "ada@example.com");
}

#[tokio::test]
async fn service_and_action_names_are_case_insensitive() {
    let t = app().await;
    let resp = t
        .send(post(
            "/api_v3/service/USER/action/LoginByLoginID",
            Some("application/json"),
            r#"{"loginId":"a@b.c","password":"x"}"#,
        ))
        .await;
    assert_error(&json_of(resp).await, codes::USER_WRONG_PASSWORD);
}

/// Bodies an attacker or a broken client might send, each with the error
/// code it must get.
/// (name, path, content type, body, expected code).
type Case = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Vec<u8>,
    &'static str,
);

fn hostile_bodies() -> Vec<Case> {
    let json = Some("application/json");
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let deep_obj = format!(
        r#"{{"loginId":{}1{},"password":"x"}}"#,
        "{\"a\":".repeat(100),
        "}".repeat(100)
    );
    let huge = format!(
        r#"{{"loginId":"{}","password":"x"}}"#,
        "a".repeat(70 * 1024)
    );
    vec![
        (
            "malformed json",
            LOGIN,
            json,
            b"{".to_vec(),
            codes::INVALID_REQUEST,
        ),
        (
            "trailing garbage",
            LOGIN,
            json,
            br#"{"loginId":"a"} x"#.to_vec(),
            codes::INVALID_REQUEST,
        ),
        (
            "json array",
            LOGIN,
            json,
            b"[1,2,3]".to_vec(),
            codes::INVALID_REQUEST,
        ),
        (
            "json string",
            LOGIN,
            json,
            br#""hello""#.to_vec(),
            codes::INVALID_REQUEST,
        ),
        (
            "json number",
            LOGIN,
            json,
            b"42".to_vec(),
            codes::INVALID_REQUEST,
        ),
        (
            "json null",
            LOGIN,
            json,
            b"null".to_vec(),
            codes::INVALID_REQUEST,
        ),
        (
            "invalid utf-8 json",
            LOGIN,
            json,
            b"{\"loginId\":\"\xff\xfe\",\"password\":\"x\"}".to_vec(),
            codes::INVALID_REQUEST,
        ),
        (
            "invalid utf-8 form",
            LOGIN,
            Some("application/x-www-form-urlencoded"),
            b"loginId=\xff&password=x".to_vec(),
            codes::INVALID_REQUEST,
        ),
        (
            "deep array nesting",
            LOGIN,
            json,
            deep.into_bytes(),
            codes::INVALID_REQUEST,
        ),
        (
            "deep object in a field",
            LOGIN,
            json,
            deep_obj.into_bytes(),
            codes::INVALID_PARAMETER_TYPE,
        ),
        (
            "body over 64 KiB",
            LOGIN,
            json,
            huge.into_bytes(),
            codes::INVALID_REQUEST,
        ),
        (
            "no content type",
            LOGIN,
            None,
            br#"{"loginId":"a","password":"x"}"#.to_vec(),
            codes::INVALID_REQUEST,
        ),
        (
            "text/plain",
            LOGIN,
            Some("text/plain"),
            br#"{"loginId":"a","password":"x"}"#.to_vec(),
            codes::INVALID_REQUEST,
        ),
        (
            "xml",
            LOGIN,
            Some("application/xml"),
            b"<xml/>".to_vec(),
            codes::INVALID_REQUEST,
        ),
        (
            "multipart",
            LOGIN,
            Some("multipart/form-data; boundary=x"),
            b"--x--".to_vec(),
            codes::INVALID_REQUEST,
        ),
        (
            "empty body",
            LOGIN,
            json,
            b"".to_vec(),
            codes::MISSING_MANDATORY_PARAMETER,
        ),
        (
            "empty object",
            LOGIN,
            json,
            b"{}".to_vec(),
            codes::MISSING_MANDATORY_PARAMETER,
        ),
        (
            "missing password",
            LOGIN,
            json,
            br#"{"loginId":"a@b.c"}"#.to_vec(),
            codes::MISSING_MANDATORY_PARAMETER,
        ),
        (
            "empty loginId",
            LOGIN,
            json,
            br#"{"loginId":"","password":"x"}"#.to_vec(),
            codes::MISSING_MANDATORY_PARAMETER,
        ),
        (
            "loginId as number",
            LOGIN,
            json,
            br#"{"loginId":true,"password":"x"}"#.to_vec(),
            codes::INVALID_PARAMETER_TYPE,
        ),
        (
            "loginId as array",
            LOGIN,
            json,
            br#"{"loginId":["a"],"password":"x"}"#.to_vec(),
            codes::INVALID_PARAMETER_TYPE,
        ),
        (
            "password as object",
            LOGIN,
            json,
            br#"{"loginId":"a","password":{"x":1}}"#.to_vec(),
            codes::INVALID_PARAMETER_TYPE,
        ),
        (
            "partnerId as text",
            LOGIN,
            json,
            br#"{"loginId":"a","password":"x","partnerId":"abc"}"#.to_vec(),
            codes::INVALID_PARAMETER_TYPE,
        ),
        (
            "partnerId fraction",
            LOGIN,
            json,
            br#"{"loginId":"a","password":"x","partnerId":1.5}"#.to_vec(),
            codes::INVALID_PARAMETER_TYPE,
        ),
        (
            "partnerId huge",
            LOGIN,
            json,
            br#"{"loginId":"a","password":"x","partnerId":99999999999999999999999}"#.to_vec(),
            codes::INVALID_PARAMETER_TYPE,
        ),
        (
            "partnerId 1e400",
            LOGIN,
            json,
            br#"{"loginId":"a","password":"x","partnerId":1e400}"#.to_vec(),
            codes::INVALID_REQUEST,
        ),
        (
            "expiry as object",
            LOGIN,
            json,
            br#"{"loginId":"a","password":"x","expiry":{}}"#.to_vec(),
            codes::INVALID_PARAMETER_TYPE,
        ),
        (
            "otp as array",
            LOGIN,
            json,
            br#"{"loginId":"a","password":"x","otp":[1]}"#.to_vec(),
            codes::INVALID_PARAMETER_TYPE,
        ),
        (
            "ks as number",
            "/api_v3/service/user/action/get",
            json,
            br#"{"ks":5}"#.to_vec(),
            codes::INVALID_PARAMETER_TYPE,
        ),
        (
            "requestedPartnerId missing",
            "/api_v3/service/user/action/loginByKs",
            json,
            br#"{"ks":"x"}"#.to_vec(),
            codes::INVALID_KS,
        ),
        (
            "hashKey missing",
            "/api_v3/service/user/action/generateQrCode",
            json,
            b"{}".to_vec(),
            codes::MISSING_MANDATORY_PARAMETER,
        ),
        (
            "hashKey as number",
            "/api_v3/service/user/action/validateHashKey",
            json,
            br#"{"hashKey":[]}"#.to_vec(),
            codes::INVALID_PARAMETER_TYPE,
        ),
        (
            "email missing",
            "/api_v3/service/user/action/resetPassword",
            json,
            br#"{"mail":"a"}"#.to_vec(),
            codes::MISSING_MANDATORY_PARAMETER,
        ),
        (
            "newPassword missing",
            "/api_v3/service/adminUser/action/updatePassword",
            json,
            br#"{"email":"a","password":"b"}"#.to_vec(),
            codes::MISSING_MANDATORY_PARAMETER,
        ),
        (
            "unknown service",
            "/api_v3/service/media/action/list",
            json,
            b"{}".to_vec(),
            codes::SERVICE_DOES_NOT_EXISTS,
        ),
        (
            "unknown action",
            "/api_v3/service/user/action/delete",
            json,
            b"{}".to_vec(),
            codes::ACTION_DOES_NOT_EXISTS,
        ),
        (
            "script in service name",
            "/api_v3/service/%3Cscript%3E/action/x",
            json,
            b"{}".to_vec(),
            codes::SERVICE_DOES_NOT_EXISTS,
        ),
        (
            "invalid utf-8 in path",
            "/api_v3/service/%FF/action/x",
            json,
            b"{}".to_vec(),
            codes::INVALID_REQUEST,
        ),
        (
            "wrong api path",
            "/api_v3/index.php",
            json,
            b"{}".to_vec(),
            codes::SERVICE_DOES_NOT_EXISTS,
        ),
        (
            "nul bytes",
            LOGIN,
            json,
            b"{\"loginId\":\"a\\u0000b\",\"password\":\"\\u0000\"}".to_vec(),
            codes::USER_WRONG_PASSWORD,
        ),
        (
            "duplicate keys",
            LOGIN,
            json,
            br#"{"loginId":"a","loginId":"b","password":"x"}"#.to_vec(),
            codes::USER_WRONG_PASSWORD,
        ),
        (
            "overlong password",
            LOGIN,
            json,
            format!(r#"{{"loginId":"a","password":"{}"}}"#, "p".repeat(60_000)).into_bytes(),
            codes::USER_WRONG_PASSWORD,
        ),
    ]
}

#[tokio::test]
async fn every_hostile_body_gets_a_kaltura_error_object_and_never_a_5xx() {
    let t = app().await;
    let cases = hostile_bodies();
    assert!(cases.len() >= 30);
    for (name, path, ct, body, code) in cases {
        let resp = t.send(post(path, ct, body)).await;
        let status = resp.status();
        assert!(
            status == StatusCode::OK || status == StatusCode::PAYLOAD_TOO_LARGE,
            "{name}: status {status}"
        );
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "application/json",
            "{name}"
        );
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store", "{name}");
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{name}: not JSON: {}", String::from_utf8_lossy(&bytes)));
        assert_eq!(v["objectType"], "KalturaAPIException", "{name}: {v}");
        assert_eq!(v["code"], code, "{name}: {v}");
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}"
        );
    }
}

#[tokio::test]
async fn missing_parameters_name_the_parameter() {
    let t = app().await;
    let resp = t
        .send(post(
            LOGIN,
            Some("application/json"),
            r#"{"loginId":"a@b.c"}"#,
        ))
        .await;
    let v = json_of(resp).await;
    assert_eq!(v["args"]["PARAM_NAME"], "password");
}

#[tokio::test]
async fn get_on_an_action_is_a_kaltura_error_not_the_app() {
    let t = app().await;
    let resp = t
        .send(Request::get(LOGIN).body(Body::empty()).unwrap())
        .await;
    assert_error(&json_of(resp).await, codes::INVALID_REQUEST);
}

fn dist_with_app() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("index.html"),
        "<!doctype html><html><head><script type=\"module\">import init from '/app-0123456789abcdef.js';await init();</script></head><body>KMC app</body></html>",
    )
    .unwrap();
    std::fs::write(
        d.path().join("app-0123456789abcdef.js"),
        "export default function init(){}\n".repeat(200),
    )
    .unwrap();
    std::fs::write(
        d.path().join("app-0123456789abcdef_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .unwrap();
    std::fs::write(d.path().join("config.json"), "{}").unwrap();
    d
}

#[tokio::test]
async fn the_app_is_served_with_spa_fallback_and_the_right_cache_headers() {
    let dist = dist_with_app();
    let path = dist.path().to_owned();
    let t = app_with(move |o| o.config.dist = Some(path)).await;
    for uri in ["/", "/login", "/actions/auth-info/abcDEF_-123", "/account"] {
        let resp = t.send(Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(resp.status(), StatusCode::OK, "{uri}");
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-cache", "{uri}");
        assert!(
            resp.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("KMC app"), "{uri}");
    }
    let resp = t
        .send(
            Request::get("/app-0123456789abcdef_bg.wasm")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/wasm");
    assert!(
        resp.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    let resp = t
        .send(Request::get("/config.json").body(Body::empty()).unwrap())
        .await;
    assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-cache");
    let resp = t
        .send(
            Request::get("/missing-file.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn assets_are_compressed_with_brotli_or_gzip_on_request() {
    let dist = dist_with_app();
    let path = dist.path().to_owned();
    let t = app_with(move |o| o.config.dist = Some(path)).await;
    for enc in ["br", "gzip"] {
        let resp = t
            .send(
                Request::get("/app-0123456789abcdef.js")
                    .header(header::ACCEPT_ENCODING, enc)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(resp.headers()[header::CONTENT_ENCODING], enc);
    }
}

#[tokio::test]
async fn precompressed_files_are_served_as_built_with_immutable_caching_and_vary() {
    let dist = dist_with_app();
    // What `cargo xtask precompress` writes; marked so the test sees these bytes were sent,
    // not a fresh on-the-fly compression.
    std::fs::write(
        dist.path().join("app-0123456789abcdef_bg.wasm.br"),
        b"BUILT-BR",
    )
    .unwrap();
    std::fs::write(
        dist.path().join("app-0123456789abcdef_bg.wasm.gz"),
        b"BUILT-GZ",
    )
    .unwrap();
    let path = dist.path().to_owned();
    let t = app_with(move |o| o.config.dist = Some(path)).await;
    for (accept, enc, body) in [
        ("gzip, deflate, br, zstd", "br", &b"BUILT-BR"[..]),
        ("gzip", "gzip", &b"BUILT-GZ"[..]),
    ] {
        let resp = t
            .send(
                Request::get("/app-0123456789abcdef_bg.wasm")
                    .header(header::ACCEPT_ENCODING, accept)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let h = resp.headers().clone();
        assert_eq!(h[header::CONTENT_ENCODING], enc, "{accept}");
        assert_eq!(h[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(
            h[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(
            h[header::VARY]
                .to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("accept-encoding"),
            "{h:?}"
        );
        assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), body);
    }
    // Without an accepted encoding the file itself, still marked as varying.
    let resp = t
        .send(
            Request::get("/app-0123456789abcdef_bg.wasm")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(resp.headers().get(header::CONTENT_ENCODING).is_none());
    assert!(resp.headers().contains_key(header::VARY));
    assert_eq!(
        resp.into_body().collect().await.unwrap().to_bytes(),
        &b"\0asm\x01\0\0\0"[..]
    );
}

#[tokio::test]
async fn index_html_is_sent_brotli_or_gzip_compressed_revalidated_and_varying() {
    let dist = dist_with_app();
    let path = dist.path().to_owned();
    let t = app_with(move |o| o.config.dist = Some(path)).await;
    for (uri, accept, enc) in [
        ("/login", "gzip, deflate, br", Some("br")),
        ("/actions/auth-info/abc", "gzip", Some("gzip")),
        ("/", "identity", None),
    ] {
        let resp = t
            .send(
                Request::get(uri)
                    .header(header::ACCEPT_ENCODING, accept)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let h = resp.headers().clone();
        assert_eq!(
            h.get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap()),
            enc,
            "{uri}"
        );
        assert_eq!(h[header::VARY], "accept-encoding", "{uri}");
        assert_eq!(h[header::CACHE_CONTROL], "no-cache", "{uri}");
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let mut page = Vec::new();
        match enc {
            Some("br") => brotli::BrotliDecompress(&mut &bytes[..], &mut page).unwrap(),
            Some(_) => {
                std::io::Read::read_to_end(
                    &mut flate2::read::GzDecoder::new(&bytes[..]),
                    &mut page,
                )
                .unwrap();
            }
            None => page = bytes.to_vec(),
        }
        assert!(String::from_utf8_lossy(&page).contains("KMC app"), "{uri}");
    }
}

#[tokio::test]
async fn the_csp_allows_trunks_inline_script_by_hash_and_nothing_unsafe() {
    let dist = dist_with_app();
    let path = dist.path().to_owned();
    let t = app_with(move |o| o.config.dist = Some(path)).await;
    let resp = t
        .send(Request::get("/login").body(Body::empty()).unwrap())
        .await;
    let h = resp.headers();
    let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(
        b"import init from '/app-0123456789abcdef.js';await init();",
    ));
    assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
    let script_src = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap();
    assert!(!script_src.contains("'unsafe-inline'") && !script_src.contains("'unsafe-eval'"));
    assert!(script_src.contains("'wasm-unsafe-eval'"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

#[tokio::test]
async fn without_a_built_app_pages_explain_and_the_api_still_works() {
    let t = app().await;
    let resp = t
        .send(Request::get("/login").body(Body::empty()).unwrap())
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("not built"));
    let v = t
        .call(
            "user",
            "resetPassword",
            serde_json::json!({"email": "x@example.com"}),
        )
        .await;
    assert!(v.is_null());
}

#[tokio::test]
async fn over_a_real_socket_the_client_address_limits_resets_per_ip() {
    let (t, addr) = spawn_app().await;
    // Plain HTTP/1.1 by hand: the server must answer a real socket.
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut answers = Vec::new();
    for i in 0..101 {
        let body = format!(r#"{{"email":"user{i}@example.com"}}"#);
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "POST /api_v3/service/user/action/resetPassword?format=1 HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        answers.push(out.rsplit("\r\n\r\n").next().unwrap().to_owned());
    }
    // Every answer is null, limited or not: the limit is silent.
    assert!(answers.iter().all(|a| a == "null"));
    assert!(
        !t.state
            .reset_limiter
            .allow(
                &t.state.pool,
                "fresh@example.com",
                Some("127.0.0.1"),
                t.state.now()
            )
            .await
            .unwrap()
    );
}
