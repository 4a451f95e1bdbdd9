//! Browser tests of the set-new-password page.
#![cfg(target_arch = "wasm32")]
