//! Reading the server's outbox: one `.eml` file per message in `<data-dir>/outbox/`.
//!
//! The contract says messages are plain 7-bit text with each link on its own
//! line, but a mail library may still choose quoted-printable, so soft line
//! breaks and `=3D` are undone before looking for links.

use std::fs;
use std::path::{Path, PathBuf};

/// One message from the outbox.
#[derive(Debug, Clone)]
pub struct Email {
    /// The `.eml` file it was read from.
    pub path: PathBuf,
    /// The unfolded header block.
    pub headers: String,
    /// The body with quoted-printable soft breaks removed.
    pub body: String,
}

impl Email {
    /// Reads and decodes one `.eml` file.
    pub fn read(path: &Path) -> Email {
        let raw = fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read email {}: {e}", path.display()));
        let raw = raw.replace("\r\n", "\n");
        let (headers, body) = raw.split_once("\n\n").unwrap_or((raw.as_str(), ""));
        // Header folding: a line starting with white space continues the previous one.
        let headers = headers.replace("\n ", " ").replace("\n\t", " ");
        Email {
            path: path.to_owned(),
            headers,
            body: decode_soft_breaks(body),
        }
    }

    /// Whether the `To:` header names `email` (compared without case).
    pub fn is_to(&self, email: &str) -> bool {
        let wanted = email.to_ascii_lowercase();
        self.headers.lines().any(|line| {
            let lower = line.to_ascii_lowercase();
            lower.starts_with("to:") && lower.contains(&wanted)
        })
    }

    /// The first link whose path starts with `path_prefix` (e.g.
    /// `/actions/auth-info/`): the full URL and the hash key after the prefix.
    pub fn link(&self, path_prefix: &str) -> Option<(String, String)> {
        let at = self.body.find(path_prefix)?;
        let start = self.body[..at].rfind("http")?;
        let key: String = self.body[at + path_prefix.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        if key.is_empty() {
            return None;
        }
        let url = format!("{}{path_prefix}{key}", &self.body[start..at]);
        Some((url, key))
    }
}

/// Undoes what quoted-printable may have done to a link: soft line breaks
/// (`=` at the end of a line) and the encoded `=` sign.
pub fn decode_soft_breaks(body: &str) -> String {
    body.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
        .replace("=3d", "=")
}

/// Every message in `outbox`, oldest first (by modification time, then name).
pub fn all(outbox: &Path) -> Vec<Email> {
    let Ok(dir) = fs::read_dir(outbox) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = dir
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| {
            let modified = fs::metadata(&p)
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (modified, p)
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, p)| Email::read(&p)).collect()
}

/// The messages in `outbox` addressed to `email`, oldest first.
pub fn to(outbox: &Path, email: &str) -> Vec<Email> {
    all(outbox).into_iter().filter(|m| m.is_to(email)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_printable_soft_break_inside_a_link_is_undone() {
        let body = "Open\nhttp://127.0.0.1:4000/actions/auth-info/abc=\nDEF_-9\nthanks\n";
        let email = Email {
            path: PathBuf::new(),
            headers: String::new(),
            body: decode_soft_breaks(body),
        };
        let (url, key) = email.link("/actions/auth-info/").unwrap();
        assert_eq!(key, "abcDEF_-9");
        assert_eq!(url, "http://127.0.0.1:4000/actions/auth-info/abcDEF_-9");
    }

    #[test]
    fn the_recipient_is_found_in_a_folded_to_header_without_case() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.eml");
        fs::write(
            &path,
            "From: kmc@example.com\r\nTo: Ada Lovelace\r\n <Ada@Example.com>\r\nSubject: x\r\n\r\nbody\r\n",
        )
        .unwrap();
        let email = Email::read(&path);
        assert!(email.is_to("ada@example.com"));
        assert!(!email.is_to("bob@example.com"));
    }

    #[test]
    fn a_body_without_the_link_yields_none() {
        let email = Email {
            path: PathBuf::new(),
            headers: String::new(),
            body: "see http://127.0.0.1/actions/restore-password/\n".into(),
        };
        assert!(email.link("/actions/auth-info/").is_none());
        assert!(email.link("/actions/restore-password/").is_none());
    }
}
