//! Authenticator codes for the attacks: the secret is read from the otpauth URI the server
//! hands out, and codes are computed with totp-rs, as the e2e suite's authenticator does, so
//! neither trusts the server's own TOTP code.

use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::json;
use totp_rs::Totp;

use crate::client::Conn;
use crate::server::Server;

/// Enrolls `email`'s authenticator through the QR link it was mailed and returns its key.
pub async fn enroll(server: &Server, email: &str) -> Result<Totp> {
    let key = server
        .mailed_link(email, "auth-info", &[])
        .with_context(|| format!("no QR link was mailed to {email}"))?;
    let mut conn = Conn::new(server.addr, None);
    let reply = conn
        .call(
            "user",
            "generateQrCode",
            &json!({ "hashKey": key }),
            Duration::from_secs(30),
        )
        .await
        .map_err(|e| anyhow::anyhow!("generateQrCode: {e}"))?;
    let uri: String = serde_json::from_slice(&reply.body)
        .with_context(|| format!("generateQrCode answered {}", reply.text(300)))?;
    // The error names the field at fault, never the URI (it holds the secret).
    Totp::from_url(&uri).map_err(|e| anyhow::anyhow!("the otpauth URI is not a TOTP key: {e}"))
}

/// The 30-second TOTP step of a unix time.
pub fn step_at(unix: u64) -> u64 {
    unix / 30
}

/// The current TOTP step.
pub fn current_step() -> u64 {
    step_at(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

/// The 6-digit code of `key` at `step`.
pub fn totp(key: &Totp, step: u64) -> String {
    key.generate(step * 30).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_rfc_6238_test_vectors() {
        // RFC 6238 appendix B, SHA-1, last 6 digits; the secret is "12345678901234567890".
        let key = Totp::from_url(
            "otpauth://totp/Test:a%40b.c?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Test",
        )
        .unwrap();
        assert_eq!(totp(&key, step_at(59)), "287082");
        assert_eq!(totp(&key, step_at(1_111_111_109)), "081804");
        assert_eq!(totp(&key, step_at(2_000_000_000)), "279037");
    }
}
