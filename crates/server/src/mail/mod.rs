//! Outgoing mail through lettre: by default each message is written as an
//! `.eml` file (mode 0600, in a folder of mode 0700) into
//! `<data-dir>/outbox/`; with `--smtp-url` it goes to an SMTP relay instead.
//! Messages are plain text, 7bit, with every link alone on its own line
//! (never wrapped or quoted-printable encoded, so a person or a test can copy
//! it whole).
//!
//! SMTP URLs ([`SmtpUrl::parse`]):
//! - `smtps://[user@]host[:465]`: implicit TLS;
//! - `smtp://[user@]host[:587]`: STARTTLS required (the message is never sent
//!   if the relay does not offer it or its certificate does not verify);
//!   to a loopback host (`localhost`, `127.0.0.0/8`, `::1`) plain SMTP, since
//!   the traffic never leaves the machine;
//! - `smtp+plain://host[:25]`: plain SMTP, only when asked for by name, and
//!   without a user unless the host is loopback (a password is never sent in
//!   the clear over the network).
//!
//! The password never comes from the URL (the command line is visible to
//! every local user): [`smtp_password`] reads it from `KMC_SMTP_PASSWORD` or
//! from a file. Certificates verify against the system's roots plus, when
//! given, the PEM certificates of a private CA (`--smtp-ca-file`).
//!
//! Its parts: [`smtp`] (the SMTP set-up: URL, password, CA), the transports
//! ([`Mailer`]: outbox or relay), the [`templates`] of the messages with
//! links, and the security [`notices`].

pub mod notices;
pub mod smtp;
pub mod templates;
mod transport;

pub use notices::*;
pub use smtp::{SMTP_PASSWORD_ENV, SmtpSecurity, SmtpUrl, is_loopback, smtp_password};
pub use templates::*;
pub use transport::Mailer;

/// One message to send.
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body; links each on their own line.
    pub body: String,
}
