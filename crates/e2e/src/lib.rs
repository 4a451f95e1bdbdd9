//! Full-stack browser tests: the real `kmc-server` binary serving the built
//! `dist/`, driven by headless Chromium through chromedriver.
//!
//! Nothing here is a mock: every test starts its own server on a fresh data
//! directory, prepares accounts through the server's own CLI (as an operator
//! would), reads the emails the server writes into its outbox, and computes
//! authenticator codes from the secret the server handed out, with an
//! independent TOTP implementation.
//!
//! Serves:
//! - [`app`]: [`spawn_app`] and the [`TestApp`] handle (CLI, API, database);
//! - [`mail`]: reading `.eml` files and the links inside them;
//! - [`proxy`]: a round-robin proxy in front of two server replicas;
//! - [`authenticator`]: TOTP codes the way a phone computes them;
//! - [`rfc6238`]: a second authenticator written from the RFCs, with no TOTP crate;
//! - [`browser`]: chromedriver + Chromium and wait-until helpers;
//! - [`axe`]: the accessibility gate's checks (axe-core and WCAG 2.2), and the looks;
//! - [`flows`]: the user's steps on the sign-in card;
//! - [`keyboard`]: Tab, Shift+Tab, typing, Space and Enter, and where the focus is;
//! - [`qr`]: decoding a QR code from a screenshot;
//! - [`screenshots`]: the README screenshots under `docs/`.
//!
//! What the suite needs: `KMC_SERVER_BIN` (else `<workspace>/target/debug/kmc-server`),
//! `KMC_DIST` (else `<workspace>/dist`), `/usr/bin/chromedriver` (or `CHROMEDRIVER`)
//! and `/usr/bin/chromium` (or `CHROMIUM`). A missing piece fails with a message
//! saying how to get it.

pub mod app;
pub mod authenticator;
pub mod axe;
pub mod browser;
pub mod flows;
pub mod keyboard;
pub mod mail;
pub mod proxy;
pub mod qr;
pub mod rfc6238;
pub mod screenshots;

pub use app::{Account, LinkKind, TestApp, spawn_app, spawn_replicated_app};
pub use authenticator::Authenticator;
pub use browser::Browser;

use std::path::PathBuf;

/// The workspace root (two levels above this crate), where `dist/`,
/// `target/` and `docs/` live.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// Seconds since the Unix epoch, as the server and the authenticator count them.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}
