//! Browser tests of the enrollment page.
#![cfg(target_arch = "wasm32")]
