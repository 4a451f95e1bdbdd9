//! `Strict-Transport-Security`: on every response (API, health, app, 404)
//! when the public URL is https, on none when it is http.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kmc_server::web::{HSTS, wants_hsts, with_layers, with_layers_hsts};
use tower::ServiceExt as _;

fn api() -> Router {
    Router::new().route(
        "/api_v3/service/system/action/ping",
        axum::routing::post(|| async { "true" }),
    )
}

fn dist() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("index.html"), "<html></html>").unwrap();
    std::fs::write(d.path().join("config.json"), "{}").unwrap();
    d
}

fn requests() -> Vec<Request<Body>> {
    vec![
        Request::post("/api_v3/service/system/action/ping")
            .body(Body::empty())
            .unwrap(),
        Request::get("/").body(Body::empty()).unwrap(),
        Request::get("/config.json").body(Body::empty()).unwrap(),
        Request::get("/actions/auth-info/x")
            .body(Body::empty())
            .unwrap(),
        Request::get("/missing.js").body(Body::empty()).unwrap(),
    ]
}

#[tokio::test]
async fn an_https_public_url_puts_hsts_on_every_response() {
    let d = dist();
    assert!(wants_hsts("https://kmc.example.org"));
    let app = with_layers_hsts(api(), Some(d.path()), true);
    let mut statuses = Vec::new();
    for req in requests() {
        let path = req.uri().path().to_owned();
        let resp = app.clone().oneshot(req).await.unwrap();
        statuses.push(resp.status());
        assert_eq!(
            resp.headers()
                .get(header::STRICT_TRANSPORT_SECURITY)
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000; includeSubDomains"),
            "{path}"
        );
        assert_eq!(resp.headers()[header::X_FRAME_OPTIONS], "DENY");
    }
    assert!(statuses.contains(&StatusCode::NOT_FOUND), "{statuses:?}");
    assert_eq!(HSTS, "max-age=31536000; includeSubDomains");

    // Without the built app too.
    let bare = with_layers_hsts(api(), None, true);
    let resp = bare
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(
        resp.headers()
            .contains_key(header::STRICT_TRANSPORT_SECURITY)
    );
}

#[tokio::test]
async fn an_http_public_url_sends_no_hsts() {
    let d = dist();
    assert!(!wants_hsts("http://127.0.0.1:8080"));
    for app in [
        with_layers(api(), Some(d.path())),
        with_layers_hsts(api(), Some(d.path()), false),
    ] {
        for req in requests() {
            let path = req.uri().path().to_owned();
            let resp = app.clone().oneshot(req).await.unwrap();
            assert!(
                !resp
                    .headers()
                    .contains_key(header::STRICT_TRANSPORT_SECURITY),
                "{path}"
            );
            assert_eq!(resp.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        }
    }
}
