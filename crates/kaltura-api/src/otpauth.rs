//! The `otpauth://` URI in Google's Key Uri Format:
//! `otpauth://totp/{Issuer}:{account}?secret={BASE32}&issuer={Issuer}&algorithm=SHA1&digits=6&period=30`.
//!
//! The server formats it from a login's secret; the enrollment page parses it
//! to draw the QR code, show the manual key and check a first code.
//!
//! Why the parsing here is our own: the Key Uri Format is Google's convention
//! (label `Issuer:account`, issuer only in the label or only in the query,
//! defaults for absent parameters), which no crate or browser API reads for
//! us; what is standard underneath it is small. RFC 4648 base32 is the
//! `base32_*` pair below, checked against the RFC's vectors: the `base32`
//! crate (the one totp-rs uses) does the same and costs 0.45 KB brotli more in
//! the wasm, which is over its size budget. RFC 3986 percent-coding is
//! `percent_*`, a dozen lines; the browser's `URL` would split it off from the
//! native build that the server and these tests use, and the `url` crate
//! brings IDNA tables into the wasm. A generic URL parser would also not give
//! the label's `Issuer:` rule. The end-to-end tests read every URI the server
//! writes with totp-rs's own parser, so the two are checked against each other.

use std::fmt;

/// Why a string is not a usable TOTP URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtpAuthError {
    NotOtpAuth,
    NotTotp,
    MissingSecret,
    InvalidSecret,
    InvalidParameter(&'static str),
    InvalidEncoding,
}

impl fmt::Display for OtpAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotOtpAuth => f.write_str("not an otpauth:// URI"),
            Self::NotTotp => f.write_str("not a time-based (TOTP) key"),
            Self::MissingSecret => f.write_str("the URI has no secret"),
            Self::InvalidSecret => f.write_str("the secret is not base32"),
            Self::InvalidParameter(name) => write!(f, "the {name} parameter is invalid"),
            Self::InvalidEncoding => f.write_str("the URI has an invalid percent-encoding"),
        }
    }
}

impl std::error::Error for OtpAuthError {}

/// A TOTP key as an authenticator app receives it. No `Debug`: it holds the
/// secret.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpAuthUri {
    /// Who issued it (shown by the app above the account); `None` when absent.
    pub issuer: Option<String>,
    /// The account name, for this project the login's email.
    pub account: String,
    /// Base32, upper case, without padding.
    pub secret: String,
    /// `SHA1`, `SHA256` or `SHA512`.
    pub algorithm: String,
    pub digits: u32,
    pub period: u64,
}

impl OtpAuthUri {
    /// A key with the parameters this project uses: SHA-1, 6 digits, 30 s.
    /// `:` is removed from issuer and account, as the format requires.
    pub fn new(issuer: &str, account: &str, secret_base32: &str) -> Self {
        Self {
            issuer: Some(issuer.replace(':', "")).filter(|s| !s.is_empty()),
            account: account.replace(':', ""),
            secret: secret_base32.trim_end_matches('=').to_ascii_uppercase(),
            algorithm: "SHA1".into(),
            digits: 6,
            period: 30,
        }
    }

    /// Parses a URI, tolerating what real issuers send: the issuer only in the
    /// label or only in the query, lower-case or padded secrets, `%3A` for the
    /// colon, and absent `algorithm`/`digits`/`period` (SHA1, 6, 30).
    pub fn parse(uri: &str) -> Result<Self, OtpAuthError> {
        let rest =
            strip_prefix_ignore_case(uri.trim(), "otpauth://").ok_or(OtpAuthError::NotOtpAuth)?;
        let (kind, rest) = rest.split_once('/').ok_or(OtpAuthError::NotOtpAuth)?;
        if !kind.eq_ignore_ascii_case("totp") {
            return Err(OtpAuthError::NotTotp);
        }
        let (label, query) = rest.split_once('?').unwrap_or((rest, ""));
        let label = percent_decode(label, false)?;
        let (label_issuer, account) = match label.split_once(':') {
            Some((issuer, account)) => (Some(issuer.trim().to_owned()), account.trim().to_owned()),
            None => (None, label.trim().to_owned()),
        };

        let mut out = Self {
            issuer: label_issuer.filter(|s| !s.is_empty()),
            account,
            secret: String::new(),
            algorithm: "SHA1".into(),
            digits: 6,
            period: 30,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value, true)?;
            match key.to_ascii_lowercase().as_str() {
                "secret" => out.secret = normalise_secret(&value)?,
                "issuer" if !value.trim().is_empty() => out.issuer = Some(value.trim().to_owned()),
                "algorithm" => {
                    let algorithm = value.to_ascii_uppercase();
                    if !matches!(algorithm.as_str(), "SHA1" | "SHA256" | "SHA512") {
                        return Err(OtpAuthError::InvalidParameter("algorithm"));
                    }
                    out.algorithm = algorithm;
                }
                "digits" => {
                    out.digits = value
                        .parse()
                        .ok()
                        .filter(|d| (6..=8).contains(d))
                        .ok_or(OtpAuthError::InvalidParameter("digits"))?;
                }
                "period" => {
                    out.period = value
                        .parse()
                        .ok()
                        .filter(|p| (1..=3600).contains(p))
                        .ok_or(OtpAuthError::InvalidParameter("period"))?;
                }
                _ => {}
            }
        }
        if out.secret.is_empty() {
            return Err(OtpAuthError::MissingSecret);
        }
        Ok(out)
    }

    /// The label an authenticator shows: `Issuer:account` or the account.
    pub fn label(&self) -> String {
        match &self.issuer {
            Some(issuer) => format!("{issuer}:{}", self.account),
            None => self.account.clone(),
        }
    }

    /// The secret in groups of four characters, for typing by hand.
    pub fn grouped_secret(&self) -> String {
        group_secret(&self.secret)
    }

    /// The raw key bytes (decoded base32).
    pub fn secret_bytes(&self) -> Result<Vec<u8>, OtpAuthError> {
        base32_decode(&self.secret).ok_or(OtpAuthError::InvalidSecret)
    }

    /// The URI text.
    pub fn to_uri(&self) -> String {
        let label = match &self.issuer {
            Some(issuer) => format!(
                "{}:{}",
                percent_encode(issuer),
                percent_encode(&self.account)
            ),
            None => percent_encode(&self.account),
        };
        let mut uri = format!("otpauth://totp/{label}?secret={}", self.secret);
        if let Some(issuer) = &self.issuer {
            uri.push_str("&issuer=");
            uri.push_str(&percent_encode(issuer));
        }
        uri.push_str(&format!(
            "&algorithm={}&digits={}&period={}",
            self.algorithm, self.digits, self.period
        ));
        uri
    }
}

/// Groups a secret in fours: `JBSW Y3DP EHPK 3PXP`.
pub fn group_secret(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().filter(|c| !c.is_whitespace()).collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn normalise_secret(raw: &str) -> Result<String, OtpAuthError> {
    let secret: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .trim_end_matches('=')
        .to_ascii_uppercase();
    if secret.is_empty() {
        return Err(OtpAuthError::MissingSecret);
    }
    base32_decode(&secret).ok_or(OtpAuthError::InvalidSecret)?;
    Ok(secret)
}

/// RFC 4648 base32 without padding; `None` on any other character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let value = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// RFC 4648 base32, upper case, without padding.
pub fn base32_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str, plus_is_space: bool) -> Result<String, OtpAuthError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text
                    .get(i + 1..i + 3)
                    .ok_or(OtpAuthError::InvalidEncoding)?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| OtpAuthError::InvalidEncoding)?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| OtpAuthError::InvalidEncoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

    #[test]
    fn formats_googles_key_uri_format_with_a_percent_encoded_label() {
        let uri = OtpAuthUri::new("Kaltura", "ada+kmc@example.com", SECRET).to_uri();
        assert_eq!(
            uri,
            "otpauth://totp/Kaltura:ada%2Bkmc%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Kaltura&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn removes_colons_from_issuer_and_account() {
        let key = OtpAuthUri::new("Acme: Video", "a:b@example.com", SECRET);
        assert_eq!(key.issuer.as_deref(), Some("Acme Video"));
        assert_eq!(key.account, "ab@example.com");
    }

    #[test]
    fn parse_round_trips_what_format_writes() {
        let key = OtpAuthUri::new("My Kaltura", "ada@example.com", SECRET);
        assert!(OtpAuthUri::parse(&key.to_uri()).unwrap() == key);
    }

    #[test]
    fn parse_reads_the_issuer_from_the_label_prefix() {
        let key = OtpAuthUri::parse(
            "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ",
        )
        .unwrap();
        assert_eq!(key.issuer.as_deref(), Some("ACME Co"));
        assert_eq!(key.account, "john.doe@email.com");
        assert_eq!(key.label(), "ACME Co:john.doe@email.com");
    }

    #[test]
    fn parse_accepts_an_encoded_colon_and_a_query_only_issuer() {
        let key = OtpAuthUri::parse(
            "otpauth://totp/Example%3Aalice%40google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
        )
        .unwrap();
        assert_eq!(key.issuer.as_deref(), Some("Example"));
        assert_eq!(key.account, "alice@google.com");
        let key =
            OtpAuthUri::parse("otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&issuer=Ex+Co").unwrap();
        assert_eq!(key.issuer.as_deref(), Some("Ex Co"));
    }

    #[test]
    fn parse_defaults_missing_parameters_to_sha1_six_digits_thirty_seconds() {
        let key = OtpAuthUri::parse("otpauth://totp/alice?secret=jbswy3dpehpk3pxp====").unwrap();
        assert_eq!(
            (key.algorithm.as_str(), key.digits, key.period),
            ("SHA1", 6, 30)
        );
        assert_eq!(key.secret, "JBSWY3DPEHPK3PXP");
        assert_eq!(key.issuer, None);
    }

    #[test]
    fn parse_rejects_hotp_other_schemes_and_missing_or_bad_secrets() {
        assert_eq!(
            OtpAuthUri::parse("otpauth://hotp/a?secret=JBSWY3DP&counter=1").err(),
            Some(OtpAuthError::NotTotp)
        );
        assert_eq!(
            OtpAuthUri::parse("https://example.com/").err(),
            Some(OtpAuthError::NotOtpAuth)
        );
        assert_eq!(
            OtpAuthUri::parse("otpauth://totp/a?issuer=X").err(),
            Some(OtpAuthError::MissingSecret)
        );
        assert_eq!(
            OtpAuthUri::parse("otpauth://totp/a?secret=01189").err(),
            Some(OtpAuthError::InvalidSecret)
        );
        assert_eq!(
            OtpAuthUri::parse("otpauth://totp/a?secret=JBSWY3DP&digits=12").err(),
            Some(OtpAuthError::InvalidParameter("digits"))
        );
        assert_eq!(
            OtpAuthUri::parse("otpauth://totp/a%ZZ?secret=JBSWY3DP").err(),
            Some(OtpAuthError::InvalidEncoding)
        );
    }

    #[test]
    fn grouped_secret_is_in_fours() {
        assert_eq!(group_secret("JBSWY3DPEHPK3PXPAB"), "JBSW Y3DP EHPK 3PXP AB");
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648_vectors() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI====").unwrap(), b"foobar");
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(base32_decode(&base32_encode(&bytes)).unwrap(), bytes);
        assert_eq!(base32_decode("A1"), None);
    }
}
