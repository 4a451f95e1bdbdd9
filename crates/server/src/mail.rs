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

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rand::RngCore as _;
use tokio::io::AsyncWriteExt as _;

/// The environment variable holding the SMTP password.
pub const SMTP_PASSWORD_ENV: &str = "KMC_SMTP_PASSWORD";

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// `.eml` files in a folder.
    Outbox(PathBuf),
    /// An SMTP relay.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// One message to send.
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body; links each on their own line.
    pub body: String,
}

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the first byte (`smtps://`).
    ImplicitTls,
    /// `STARTTLS` or nothing is sent (`smtp://` to a remote host).
    StartTlsRequired,
    /// No TLS (`smtp+plain://`, or `smtp://` to a loopback host).
    Plain,
}

/// A parsed `--smtp-url`. It never holds a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    /// How the connection is protected.
    pub security: SmtpSecurity,
    /// Host name or IP address (IPv6 without brackets); also the name the
    /// certificate must carry.
    pub host: String,
    /// TCP port (default 465, 587 or 25 by scheme).
    pub port: u16,
    /// The user to authenticate as, if any.
    pub user: Option<String>,
}

const URL_SHAPE: &str = "--smtp-url must look like smtps://[user@]host[:465], \
     smtp://[user@]host[:587] (STARTTLS required) or smtp+plain://host[:25]";

impl SmtpUrl {
    /// Parses `smtps://`, `smtp://` or `smtp+plain://` URLs. Refuses a
    /// password in the URL, unknown schemes, paths and queries, and plain
    /// SMTP with a user to a host that is not loopback. Errors never echo
    /// the URL (it may hold a password).
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| anyhow::anyhow!("{URL_SHAPE}"))?;
        let (mut security, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "smtps" => (SmtpSecurity::ImplicitTls, 465),
            "smtp" => (SmtpSecurity::StartTlsRequired, 587),
            "smtp+plain" => (SmtpSecurity::Plain, 25),
            _ => anyhow::bail!("unknown --smtp-url scheme: {URL_SHAPE}"),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        anyhow::ensure!(
            !rest.contains(['/', '?', '#']),
            "--smtp-url takes no path or query: {URL_SHAPE}"
        );
        // The last '@' ends the user, so `smtp://ada@example.com@host` works.
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((user, hp)) => (Some(user), hp),
            None => (None, rest),
        };
        if let Some(user) = user {
            anyhow::ensure!(
                !user.contains(':'),
                "--smtp-url must not hold a password (the command line is visible to other \
                 local users): put it in the {SMTP_PASSWORD_ENV} environment variable or in a \
                 file named by --smtp-password-file, and keep only the user in the URL \
                 (smtp://USER@host)"
            );
            anyhow::ensure!(!user.is_empty(), "--smtp-url has an empty user name");
        }
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| anyhow::anyhow!("--smtp-url has an unclosed [ in its host"))?;
            match after {
                "" => (host, None),
                p => (
                    host,
                    Some(
                        p.strip_prefix(':')
                            .ok_or_else(|| anyhow::anyhow!("{URL_SHAPE}"))?,
                    ),
                ),
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        anyhow::ensure!(!host.is_empty(), "--smtp-url has no host");
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .context("the --smtp-url port is not a number")?,
            None => default_port,
        };
        let loopback = is_loopback(host);
        if security == SmtpSecurity::StartTlsRequired && loopback {
            // Nothing on the wire to protect, and local relays often offer
            // STARTTLS with a self-signed certificate.
            security = SmtpSecurity::Plain;
        }
        anyhow::ensure!(
            !(security == SmtpSecurity::Plain && user.is_some() && !loopback),
            "smtp+plain:// with a user would send the password in the clear to {host}: \
             use smtp:// (STARTTLS) or smtps://"
        );
        Ok(Self {
            security,
            host: host.to_owned(),
            port,
            user: user.map(str::to_owned),
        })
    }
}

/// True for `localhost` (and `*.localhost`) and loopback IP addresses.
pub fn is_loopback(host: &str) -> bool {
    let lower = host.to_ascii_lowercase();
    lower == "localhost"
        || lower.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The SMTP password: the first line of `file` when given (trailing
/// newline trimmed), else `KMC_SMTP_PASSWORD` when set and not empty, else
/// none. Warns when the file can be read by group or others.
pub fn smtp_password(file: Option<&Path>) -> anyhow::Result<Option<String>> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the SMTP password file {}", file.display()))?;
        let line = text.lines().next().unwrap_or_default();
        anyhow::ensure!(
            !line.is_empty(),
            "the SMTP password file {} is empty (the password is its first line)",
            file.display()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            if let Ok(meta) = std::fs::metadata(file)
                && meta.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(
                    file = %file.display(),
                    "the SMTP password file can be read by other users: chmod 600 it"
                );
            }
        }
        return Ok(Some(line.to_owned()));
    }
    match std::env::var(SMTP_PASSWORD_ENV) {
        Ok(p) if !p.is_empty() => Ok(Some(p)),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            anyhow::bail!("{SMTP_PASSWORD_ENV} is not valid UTF-8")
        }
    }
}

impl Mailer {
    /// Writes into `dir`, created mode 0700 if missing (and narrowed to
    /// 0700 if it exists); messages already there are narrowed to 0600.
    pub fn outbox(dir: PathBuf) -> anyhow::Result<Self> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
            builder.mode(0o700);
            builder
                .create(&dir)
                .with_context(|| format!("creating outbox {}", dir.display()))?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("setting outbox {} to mode 0700", dir.display()))?;
            let entries = std::fs::read_dir(&dir)
                .with_context(|| format!("reading outbox {}", dir.display()))?;
            for entry in entries.flatten() {
                let path = entry.path();
                let loose = entry
                    .metadata()
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o077 != 0);
                if loose
                    && path.extension().is_some_and(|e| e == "eml")
                    && let Err(e) =
                        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                {
                    tracing::warn!(file = %path.display(), "cannot chmod 600: {e}");
                }
            }
        }
        #[cfg(not(unix))]
        builder
            .create(&dir)
            .with_context(|| format!("creating outbox {}", dir.display()))?;
        Ok(Self::Outbox(dir))
    }

    /// Sends through an SMTP URL with `password` for the URL's user.
    pub fn smtp_with(url: &str, password: Option<String>) -> anyhow::Result<Self> {
        Self::smtp_with_ca(url, password, None)
    }

    /// Like [`Mailer::smtp_with`], also trusting the PEM certificates in
    /// `ca_file` (a private CA) besides the system's roots.
    pub fn smtp_with_ca(
        url: &str,
        password: Option<String>,
        ca_file: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let ca_pem = match ca_file {
            Some(f) => Some(
                std::fs::read(f)
                    .with_context(|| format!("reading the SMTP CA file {}", f.display()))?,
            ),
            None => None,
        };
        Self::from_smtp_url(&SmtpUrl::parse(url)?, password, ca_pem.as_deref())
    }

    /// The transport for a parsed URL; `ca_pem` holds extra trusted roots.
    pub fn from_smtp_url(
        url: &SmtpUrl,
        password: Option<String>,
        ca_pem: Option<&[u8]>,
    ) -> anyhow::Result<Self> {
        let tls = match url.security {
            SmtpSecurity::Plain => Tls::None,
            security => {
                let mut params = TlsParameters::builder(url.host.clone());
                if let Some(pem) = ca_pem {
                    anyhow::ensure!(
                        std::str::from_utf8(pem)
                            .is_ok_and(|t| t.contains("-----BEGIN CERTIFICATE-----")),
                        "the SMTP CA file holds no PEM certificate"
                    );
                    let cert =
                        Certificate::from_pem(pem).context("the SMTP CA file is not valid PEM")?;
                    params = params.add_root_certificate(cert);
                }
                let params = params.build().context("setting up TLS for SMTP")?;
                if security == SmtpSecurity::ImplicitTls {
                    Tls::Wrapper(params)
                } else {
                    Tls::Required(params)
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&url.host)
            .port(url.port)
            .tls(tls);
        match (&url.user, password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user.clone(), password));
            }
            (Some(_), None) => anyhow::bail!(
                "--smtp-url names a user but no SMTP password was given: set \
                 {SMTP_PASSWORD_ENV} or pass --smtp-password-file"
            ),
            (None, Some(_)) => anyhow::bail!(
                "an SMTP password was given but --smtp-url names no user (smtp://USER@host)"
            ),
            (None, None) => {}
        }
        Ok(Self::Smtp(builder.build()))
    }

    /// Sends one message from `from`.
    pub async fn send(&self, from: &str, mail: Mail) -> anyhow::Result<()> {
        let from: Mailbox = from.parse().context("the sender address is invalid")?;
        let to: Mailbox = mail
            .to
            .parse()
            .context("the recipient address is invalid")?;
        // 7bit: ASCII only, CRLF line ends, lines well under 998 octets.
        let text: String = mail
            .body
            .chars()
            .map(|c| if c.is_ascii() { c } else { '?' })
            .collect();
        let mut crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
        if !crlf.ends_with("\r\n") {
            crlf.push_str("\r\n");
        }
        anyhow::ensure!(
            crlf.split("\r\n").all(|l| l.len() < 990),
            "a mail line is too long for 7bit"
        );
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(Body::dangerous_pre_encoded(
                crlf.into_bytes(),
                ContentTransferEncoding::SevenBit,
            ))
            .context("building the message")?;
        match self {
            Self::Outbox(dir) => write_eml(dir, &message.formatted())
                .await
                .context("writing to the outbox"),
            Self::Smtp(t) => t
                .send(message)
                .await
                .map(|_| ())
                .context("sending over SMTP"),
        }
    }
}

/// Writes one message as `<dir>/<uuid>.eml` (lettre's file transport
/// naming), created mode 0600 whatever the umask, never over another file,
/// and complete whenever it is visible under that name.
async fn write_eml(dir: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut id = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id);
    id[6] = (id[6] & 0x0f) | 0x40; // UUID version 4
    id[8] = (id[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let name = format!(
        "{}-{}-{}-{}-{}.eml",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    let path = dir.join(&name);
    // Written under a hidden temporary name and renamed into place, so a
    // reader of the outbox never sees a half-written `.eml`.
    let partial = dir.join(format!(".{name}.partial"));
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(&partial)
        .await
        .with_context(|| format!("creating {}", partial.display()))?;
    file.write_all(bytes)
        .await
        .with_context(|| format!("writing {}", partial.display()))?;
    file.sync_all().await?;
    drop(file);
    tokio::fs::rename(&partial, &path)
        .await
        .with_context(|| format!("moving {} into place", path.display()))?;
    Ok(())
}

/// The "two-factor authentication enabled" message with the QR link.
pub fn qr_link_mail(to: &str, account_names: &str, link: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Two-factor authentication is enabled for your Kaltura account".into(),
        body: format!(
            "Hello,\n\n\
             Two-factor authentication is now required to sign in to {account_names}.\n\
             Open this link to add your account to an authenticator app (any TOTP app works,\n\
             for example Google Authenticator):\n\n\
             {link}\n\n\
             The link works once and expires in 72 hours.\n\n\
             If you did not expect this message, do not open the link; tell your administrator.\n"
        ),
    }
}

/// The password reset message.
pub fn reset_mail(to: &str, link: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Reset your Kaltura password".into(),
        body: format!(
            "Hello,\n\n\
             Someone asked to reset the password of your Kaltura account. To choose a new\n\
             password, open this link:\n\n\
             {link}\n\n\
             The link works once and expires in 24 hours. If your login uses an authenticator\n\
             app, you will be shown a new QR code to scan after choosing the password.\n\n\
             If you did not ask for this, ignore this message: your password stays as it is.\n"
        ),
    }
}

/// The notice to a login that already has an authenticator when an account
/// of it starts requiring codes: nothing to scan, so no link and no secret.
pub fn codes_required_mail(to: &str, account_name: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Kaltura now asks for your authenticator code".into(),
        body: format!(
            "Hello,\n\n\
             Two-factor authentication is now required to sign in to {account_name}.\n\
             Your login already has an authenticator app set up: from now on, after your\n\
             password, enter the 6-digit code it shows for Kaltura. There is nothing to scan.\n\n\
             If you no longer have that authenticator app, use \"Forgot password?\" on the\n\
             sign-in page: after choosing a new password you will be shown a new QR code.\n"
        ),
    }
}

/// The notice that a password reset replaced the login's authenticator key
/// (sent beside the QR code the reset shows, so the owner hears of it even
/// when someone else used the link).
pub fn new_key_notice_mail(to: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Your Kaltura password was changed and a new authenticator key was issued".into(),
        body: "Hello,\n\n\
             Your Kaltura password was changed through a reset link, and a new authenticator\n\
             key was issued: codes from the key you had before no longer work. Every session\n\
             signed in before the change was ended.\n\n\
             If this was not you, someone can read your email: secure your email account, then\n\
             use \"Forgot password?\" on the sign-in page to choose a new password, and tell\n\
             your administrator.\n"
            .into(),
    }
}

/// The new-user message with a set-password link.
pub fn new_user_mail(to: &str, account_name: &str, link: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Your new Kaltura account".into(),
        body: format!(
            "Hello,\n\n\
             An account was created for you in {account_name}. To choose your password,\n\
             open this link:\n\n\
             {link}\n\n\
             The link works once and expires in 24 hours.\n\n\
             If you did not expect this message, ignore it and tell your administrator.\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outbox_mail_is_7bit_plain_text_with_the_long_link_on_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let m = Mailer::outbox(dir.path().join("outbox")).unwrap();
        let link = format!(
            "http://127.0.0.1:45678/actions/restore-password/{}",
            "A".repeat(43)
        );
        m.send(
            "kmc-server <noreply@localhost>",
            reset_mail("ada@example.com", &link),
        )
        .await
        .unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].extension().unwrap(), "eml");
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(text.contains("Content-Transfer-Encoding: 7bit"));
        assert!(text.contains("Content-Type: text/plain"));
        assert!(text.lines().any(|l| l.trim_end() == link));
    }

    #[test]
    fn smtp_urls_are_parsed_or_refused_clearly() {
        let p = |u: &str| SmtpUrl::parse(u).unwrap();
        assert_eq!(
            p("smtps://mail.example.com"),
            SmtpUrl {
                security: SmtpSecurity::ImplicitTls,
                host: "mail.example.com".into(),
                port: 465,
                user: None,
            }
        );
        let u = p("smtp://ada@example.com@mail.example.com");
        assert_eq!(u.security, SmtpSecurity::StartTlsRequired);
        assert_eq!(u.port, 587);
        assert_eq!(u.user.as_deref(), Some("ada@example.com"));
        assert_eq!(u.host, "mail.example.com");
        assert_eq!(p("SMTP://Mail.Example.com:2587/").port, 2587);
        // Loopback: plain, whatever the spelling.
        for local in [
            "smtp://localhost:2525",
            "smtp://127.0.0.1",
            "smtp://[::1]:25",
        ] {
            assert_eq!(p(local).security, SmtpSecurity::Plain, "{local}");
        }
        assert_eq!(p("smtp://[::1]:25").host, "::1");
        assert_eq!(p("smtp+plain://relay.internal").port, 25);
        assert_eq!(
            p("smtp+plain://relay.internal").security,
            SmtpSecurity::Plain
        );
        assert_eq!(p("smtp+plain://u@localhost").user.as_deref(), Some("u"));

        let err = |u: &str| SmtpUrl::parse(u).unwrap_err().to_string();
        let e = err("smtp://u:hunter2@mail.example.com");
        assert!(
            e.contains("must not hold a password") && e.contains(SMTP_PASSWORD_ENV),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
        assert!(err("smtps://u:p@localhost").contains("password"));
        assert!(err("http://x").contains("scheme"));
        assert!(err("smtp+tls://x").contains("scheme"));
        assert!(err("mail.example.com").contains("must look like"));
        assert!(err("smtp://host:notaport").contains("port"));
        assert!(err("smtp://").contains("no host"));
        assert!(err("smtp://host/path").contains("no path"));
        assert!(err("smtp+plain://u@relay.example.com").contains("in the clear"));
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for h in [
            "localhost",
            "LOCALHOST",
            "a.localhost",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "localhost.example.com",
            "10.0.0.1",
            "mail.example.com",
            "::2",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn a_user_needs_a_password_and_a_password_needs_a_user() {
        assert!(Mailer::smtp_with("smtps://mail.example.com", None).is_ok());
        assert!(Mailer::smtp_with("smtps://u@mail.example.com", Some("p".into())).is_ok());
        assert!(Mailer::smtp_with("smtp://u@mail.example.com", Some("p".into())).is_ok());
        let e = Mailer::smtp_with("smtps://u@mail.example.com", None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(SMTP_PASSWORD_ENV), "{e}");
        let e = Mailer::smtp_with("smtps://mail.example.com", Some("p".into()))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("names no user"), "{e}");
    }

    #[test]
    fn the_password_file_gives_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("smtp-password");
        std::fs::write(&f, "s3cret pass\r\nignored\n").unwrap();
        assert_eq!(
            smtp_password(Some(&f)).unwrap().as_deref(),
            Some("s3cret pass")
        );
        std::fs::write(&f, "only\n").unwrap();
        assert_eq!(smtp_password(Some(&f)).unwrap().as_deref(), Some("only"));
        std::fs::write(&f, "\n").unwrap();
        assert!(smtp_password(Some(&f)).is_err());
        assert!(smtp_password(Some(&dir.path().join("missing"))).is_err());
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, "not a certificate\n").unwrap();
        assert!(Mailer::smtp_with_ca("smtps://mail.example.com", None, Some(&f)).is_err());
        assert!(
            Mailer::smtp_with_ca(
                "smtps://mail.example.com",
                None,
                Some(&dir.path().join("x"))
            )
            .is_err()
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn outbox_files_are_0600_in_a_0700_folder_whatever_was_there() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("outbox");
        // A folder and a message left by an older build with a loose umask.
        std::fs::create_dir(&outbox).unwrap();
        std::fs::set_permissions(&outbox, std::fs::Permissions::from_mode(0o755)).unwrap();
        let old = outbox.join("old.eml");
        std::fs::write(&old, "x").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();

        let m = Mailer::outbox(outbox.clone()).unwrap();
        assert_eq!(mode(&outbox), 0o700);
        assert_eq!(mode(&old), 0o600);
        m.send(
            "kmc <noreply@localhost>",
            reset_mail("ada@example.com", "http://x/y"),
        )
        .await
        .unwrap();
        let files: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| *p != old)
            .collect();
        assert_eq!(files.len(), 1);
        assert_eq!(mode(&files[0]), 0o600);
        let name = files[0].file_name().unwrap().to_str().unwrap();
        assert_eq!(name.len(), 36 + 4, "{name}");

        // A fresh folder is created 0700 too.
        let fresh = dir.path().join("a/b/outbox");
        Mailer::outbox(fresh.clone()).unwrap();
        assert_eq!(mode(&fresh), 0o700);
    }
}

#[cfg(test)]
mod smtp_tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt as _, BufReader};

    /// A minimal SMTP receiver on loopback: accepts one message and returns
    /// its DATA section.
    async fn receive_one(listener: tokio::net::TcpListener) -> String {
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        write
            .write_all(b"220 localhost ESMTP test\r\n")
            .await
            .unwrap();
        let mut data = String::new();
        let mut in_data = false;
        while let Some(line) = lines.next_line().await.unwrap() {
            if in_data {
                if line == "." {
                    in_data = false;
                    write.write_all(b"250 queued\r\n").await.unwrap();
                } else {
                    data.push_str(&line);
                    data.push('\n');
                }
                continue;
            }
            let verb = line
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" | "HELO" => b"250 localhost\r\n",
                "DATA" => {
                    in_data = true;
                    b"354 go ahead\r\n"
                }
                "QUIT" => {
                    write.write_all(b"221 bye\r\n").await.unwrap();
                    break;
                }
                _ => b"250 ok\r\n",
            };
            write.write_all(reply).await.unwrap();
        }
        data
    }

    #[tokio::test]
    async fn smtp_delivers_the_same_7bit_message_to_a_relay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = tokio::spawn(receive_one(listener));
        let m = Mailer::smtp_with(&format!("smtp://127.0.0.1:{port}"), None).unwrap();
        let link = format!("http://127.0.0.1:8080/actions/auth-info/{}", "b".repeat(43));
        m.send(
            "KMC Login <noreply@localhost>",
            qr_link_mail("ada@example.com", "Demo Media", &link),
        )
        .await
        .unwrap();
        let data = tokio::time::timeout(std::time::Duration::from_secs(10), receiver)
            .await
            .unwrap()
            .unwrap();
        assert!(data.contains("To: ada@example.com"), "{data}");
        assert!(data.contains("Content-Transfer-Encoding: 7bit"));
        assert!(data.lines().any(|l| l == link), "{data}");
    }
}
