//! Runs a full flow with debug logging captured and checks that no password,
//! code, secret, otpauth URI, link token or KS appears in the output.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::Request;
use common::*;
use kaltura_api::OtpAuthUri;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_flow_at_debug_level_logs_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), "<html>app</html>").unwrap();
    let dist_path = dist.path().to_owned();
    let t = app_with(move |o| o.config.dist = Some(dist_path)).await;
    let mut secrets: Vec<String> = vec![PASSWORD.into()];

    let sandbox = t.partner("Sandbox", false).await;
    let media = t.login_in(&[("Media", true)]).await[0];
    t.user(sandbox, "ada@example.com").await;
    let qr = t
        .link_tokens("ada@example.com", "/actions/auth-info/")
        .pop()
        .unwrap();
    secrets.push(qr.clone());
    // The app page for the link goes through the request log too.
    let resp = t
        .send(
            Request::get(format!("/actions/auth-info/{qr}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(resp.status().is_success());
    let uri = t
        .call("user", "generateQrCode", json!({"hashKey": qr}))
        .await;
    let uri = uri.as_str().unwrap().to_owned();
    let key = OtpAuthUri::parse(&uri).unwrap();
    secrets.push(uri.clone());
    secrets.push(key.secret.clone());

    t.login("ada@example.com", PASSWORD, Some("")).await;
    t.login("ada@example.com", PASSWORD, Some("000000")).await;
    let code = t.code("ada@example.com", 0).await;
    secrets.push(code.clone());
    let ks = t
        .call(
            "user",
            "loginByLoginId",
            json!({"loginId": "ada@example.com", "password": PASSWORD, "partnerId": media, "otp": code}),
        )
        .await;
    let ks = ks.as_str().unwrap().to_owned();
    secrets.push(ks.clone());
    t.user_get(&ks).await;
    let switched = t.login_by_ks(&ks, sandbox).await;
    secrets.push(switched["ks"].as_str().unwrap().to_owned());
    t.call("partner", "listPartnersForUser", json!({"ks": ks}))
        .await;
    t.call("session", "end", json!({"ks": ks})).await;
    t.user_get(&ks).await;

    t.call("user", "resetPassword", json!({"email": "ada@example.com"}))
        .await;
    t.wait_outbox(2).await;
    let reset = t
        .link_tokens("ada@example.com", "/actions/restore-password/")
        .pop()
        .unwrap();
    secrets.push(reset.clone());
    t.call("user", "validateHashKey", json!({"hashKey": reset}))
        .await;
    let new_password = "my secret new passphrase";
    secrets.push(new_password.into());
    t.set_initial_password("user", &reset, "qwertyuiop").await;
    let set = t.set_initial_password("user", &reset, new_password).await;
    let new_uri = set["qrCode"].as_str().unwrap().to_owned();
    secrets.push(OtpAuthUri::parse(&new_uri).unwrap().secret);
    secrets.push(new_uri);
    t.clock.advance(30);
    let code2 = t.code("ada@example.com", 0).await;
    secrets.push(code2.clone());
    let newer = "an even newer passphrase";
    secrets.push(newer.into());
    t.call(
        "adminUser",
        "updatePassword",
        json!({"email": "ada@example.com", "password": new_password, "newEmail": "", "newPassword": newer, "otp": code2}),
    )
    .await;

    let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(out.contains("signed in"), "the capture works: {out}");
    assert!(out.contains("DEBUG"), "debug level is captured");
    for s in &secrets {
        assert!(
            !out.contains(s.as_str()),
            "a secret leaked into the log: {s}\n{out}"
        );
    }
    // URL-encoded forms too.
    assert!(!out.contains("otpauth"));
}
