//! Serving the built app (`--dist`) and the headers every response carries.
//!
//! - `index.html` is read once at start-up, answered with `no-cache`, and is
//!   also the answer to unknown GET paths without a file extension (the app
//!   routes them, e.g. `/actions/auth-info/{hashKey}`).
//! - Hashed assets (trunk's `name-<16 hex>.ext`) are cached for a year;
//!   anything else (`config.json`) is revalidated.
//! - Precompressed `.br` / `.gz` files (written at build time by `cargo xtask
//!   precompress`) are used when present, else responses are compressed on the
//!   fly (gzip, brotli); `index.html` is compressed once at start-up at the
//!   strongest levels. Each answer carries `Vary: accept-encoding`.
//! - The Content-Security-Policy allows no inline or eval'd script: the
//!   inline module script trunk writes into `index.html` is allowed by its
//!   SHA-256 hash, computed here at start-up; wasm needs `'wasm-unsafe-eval'`.
//! - Request logs carry the method and a path with link tokens cut off.
//! - When the public URL is https ([`wants_hsts`]), every response carries
//!   `Strict-Transport-Security` for a year, subdomains included, without
//!   `preload` (a list entry the operator should choose, not the server).

use std::io::Write as _;
use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// The HSTS value sent when the public URL is https.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// True when `public_url` is https, so responses should carry HSTS.
pub fn wants_hsts(public_url: &str) -> bool {
    public_url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// Adds the static app (when `dist` holds one) and the global layers.
pub fn with_layers(api: Router, dist: Option<&Path>) -> Router {
    with_layers_hsts(api, dist, false)
}

/// [`with_layers`], plus `Strict-Transport-Security` ([`HSTS`]) on every
/// response when `hsts` (see [`wants_hsts`]).
pub fn with_layers_hsts(api: Router, dist: Option<&Path>, hsts: bool) -> Router {
    let index = dist.and_then(|d| std::fs::read_to_string(d.join("index.html")).ok());
    let csp = content_security_policy(index.as_deref().unwrap_or(""));
    let app = match (dist, index) {
        (Some(dist), Some(index)) => static_app(dist, index),
        _ => Router::new().fallback(app_missing),
    };
    let app = api.merge(app);
    let app = if hsts {
        app.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        ))
    } else {
        app
    };
    app.layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'")),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                tracing::debug_span!("request", method = %req.method(), path = %redact_path(req.uri().path()))
            }),
        )
}

/// The path as logged: link tokens after `/actions/<page>/` are cut off.
pub fn redact_path(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("/actions/") {
        let page = rest.split('/').next().unwrap_or_default();
        return format!("/actions/{page}/…");
    }
    path.chars().take(200).collect()
}

/// The Content-Security-Policy for an `index.html`.
pub fn content_security_policy(index_html: &str) -> String {
    let hashes: Vec<String> = inline_scripts(index_html)
        .into_iter()
        .map(|s| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(s.as_bytes()))))
        .collect();
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for h in &hashes {
        script_src.push(' ');
        script_src.push_str(h);
    }
    format!(
        "default-src 'self'; script-src {script_src}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
         base-uri 'self'; frame-ancestors 'none'"
    )
}

/// The text of every `<script>` without a `src` attribute.
fn inline_scripts(html: &str) -> Vec<&str> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = lower[from..].find("<script") {
        let tag_start = from + start;
        let Some(tag_len) = lower[tag_start..].find('>') else {
            break;
        };
        let body_start = tag_start + tag_len + 1;
        let tag = &lower[tag_start..body_start];
        let Some(body_len) = lower[body_start..].find("</script") else {
            break;
        };
        if !tag.contains(" src=") && !tag.contains("\tsrc=") && !tag.contains("\nsrc=") {
            out.push(&html[body_start..body_start + body_len]);
        }
        from = body_start + body_len;
    }
    out
}

fn static_app(dist: &Path, index: String) -> Router {
    let index: &'static Index = Box::leak(Box::new(Index::new(index)));
    let serve_index = move |headers: HeaderMap| async move { index.response(&headers) };
    let files = ServeDir::new(dist)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false)
        .fallback(axum::routing::any(move |req: Request| async move {
            spa_fallback(&req, index)
        }));
    Router::new()
        .route("/", axum::routing::get(serve_index))
        .route("/index.html", axum::routing::get(serve_index))
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
        .layer(CompressionLayer::new().gzip(true).br(true))
}

/// `index.html` and its brotli (quality 11) and gzip (level 9) encodings, made once at
/// start-up: it is the first request of every visit, and on-the-fly compression would use
/// faster, weaker settings.
struct Index {
    text: &'static str,
    br: Bytes,
    gz: Bytes,
}

impl Index {
    fn new(text: String) -> Self {
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
            let _ = w.write_all(text.as_bytes());
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let _ = gz.write_all(text.as_bytes());
        let gz = gz.finish().unwrap_or_default();
        Self {
            text: Box::leak(text.into_boxed_str()),
            br: br.into(),
            gz: gz.into(),
        }
    }

    /// The page in the best encoding the request accepts (`Vary: accept-encoding`).
    fn response(&self, request: &HeaderMap) -> Response {
        let (body, encoding) = match preferred_encoding(request) {
            Some("br") if !self.br.is_empty() => (Body::from(self.br.clone()), Some("br")),
            Some("gzip") | Some("br") if !self.gz.is_empty() => {
                (Body::from(self.gz.clone()), Some("gzip"))
            }
            _ => (Body::from(self.text), None),
        };
        let mut resp = body.into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if let Some(e) = encoding {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(e));
        }
        resp
    }
}

/// `br` when the request accepts brotli, else `gzip` when it accepts gzip (a `q=0` refuses).
fn preferred_encoding(request: &HeaderMap) -> Option<&'static str> {
    let accepted: Vec<(String, bool)> = request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            (name, !refused)
        })
        .collect();
    let ok = |name: &str| accepted.iter().any(|(n, ok)| *ok && n == name);
    if ok("br") {
        Some("br")
    } else if ok("gzip") {
        Some("gzip")
    } else {
        None
    }
}

fn spa_fallback(req: &Request, index: &'static Index) -> Response {
    let last = req.uri().path().rsplit('/').next().unwrap_or_default();
    let routable = matches!(*req.method(), Method::GET | Method::HEAD)
        && !last.contains('.')
        && !req.uri().path().starts_with("/api_v3");
    if routable {
        index.response(req.headers())
    } else {
        (StatusCode::NOT_FOUND, "Not found\n").into_response()
    }
}

/// True for trunk's content-hashed file names (`app-0123456789abcdef.js`,
/// `app-0123456789abcdef_bg.wasm`; trunk drops the hash's leading zeros, so 12+ hex digits).
pub fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let stem = name.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() >= 12 && hash.chars().all(|c| c.is_ascii_hexdigit()))
}

async fn cache_headers(req: Request, next: Next) -> Response {
    let hashed = is_hashed_asset(req.uri().path());
    let mut resp = next.run(req).await;
    if !resp.headers().contains_key(header::CACHE_CONTROL) {
        let value = if hashed && resp.status().is_success() {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    // The same URL may be answered raw, brotli or gzip (precompressed files): caches must
    // keep them apart.
    if !resp.headers().contains_key(header::VARY) {
        resp.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    resp
}

async fn app_missing(req: Request) -> Response {
    if req.uri().path().starts_with("/api_v3") {
        return crate::api::unknown_path().await;
    }
    let mut resp = (
        StatusCode::NOT_FOUND,
        Body::from(
            "kmc-server: the app is not built (no index.html in the --dist folder).\n\
             Build it with `cargo xtask build` (or `trunk build --release`) and restart;\n\
             the API under /api_v3 works without it.\n",
        ),
    )
        .into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp.headers_mut().insert(
        HeaderName::from_static("cache-control"),
        HeaderValue::from_static("no-store"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_hashes_inline_scripts_and_allows_no_unsafe_script_sources() {
        let html = r#"<html><head><script type="module">import init from '/a.js';</script>
            <script src="/x.js"></script></head></html>"#;
        let csp = content_security_policy(html);
        let expected = STANDARD.encode(Sha256::digest(b"import init from '/a.js';"));
        assert!(csp.contains(&format!("'sha256-{expected}'")), "{csp}");
        let script_src = csp.split(';').find(|d| d.contains("script-src")).unwrap();
        assert!(!script_src.contains("'unsafe-inline'") && !script_src.contains("'unsafe-eval'"));
        assert!(script_src.contains("'wasm-unsafe-eval'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(csp.matches("sha256-").count(), 1);
    }

    #[test]
    fn brotli_is_preferred_then_gzip_and_a_zero_quality_refuses() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            m
        };
        assert_eq!(
            preferred_encoding(&h("gzip, deflate, br, zstd")),
            Some("br")
        );
        assert_eq!(preferred_encoding(&h("gzip")), Some("gzip"));
        assert_eq!(preferred_encoding(&h("br;q=0, GZIP;q=0.5")), Some("gzip"));
        assert_eq!(preferred_encoding(&h("identity")), None);
        assert_eq!(preferred_encoding(&HeaderMap::new()), None);
    }

    #[test]
    fn hashed_asset_names_are_recognised() {
        assert!(is_hashed_asset("/kmc-login-4f1b2c3d4e5f6a7b.js"));
        assert!(is_hashed_asset("/kmc-login-4f1b2c3d4e5f6a7b_bg.wasm"));
        assert!(is_hashed_asset("/style-0123456789abcdef0123.css"));
        // trunk writes its 64-bit hash without leading zeros: 15 digits and fewer happen.
        assert!(is_hashed_asset("/kmc-login-2b77f5e2a3292c8.js"));
        assert!(!is_hashed_asset("/config.json"));
        assert!(!is_hashed_asset("/kmc-login.js"));
    }

    #[test]
    fn hsts_only_for_https_public_urls() {
        assert!(wants_hsts("https://kmc.example.org"));
        assert!(wants_hsts("HTTPS://kmc.example.org/"));
        assert!(!wants_hsts("http://127.0.0.1:8080"));
        assert!(!wants_hsts("https:/x"));
        assert!(!wants_hsts(""));
        assert!(!HSTS.contains("preload"));
    }

    #[test]
    fn logged_paths_never_hold_link_tokens() {
        assert_eq!(
            redact_path("/actions/auth-info/SECRETTOKEN"),
            "/actions/auth-info/…"
        );
        assert_eq!(
            redact_path("/api_v3/service/user/action/get"),
            "/api_v3/service/user/action/get"
        );
    }
}
