//! Time-based one-time passwords (RFC 6238), checked in the browser.
