//! SMTP set-up: the `--smtp-url` and what it allows, the password (never
//! from the URL) and the private CA, and the lettre transport they make.

use std::net::IpAddr;
use std::path::Path;

use anyhow::Context as _;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};

/// The environment variable holding the SMTP password.
pub const SMTP_PASSWORD_ENV: &str = "KMC_SMTP_PASSWORD";

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

/// The PEM certificates of a private CA (`--smtp-ca-file`), for
/// [`transport`] to trust besides the system's roots.
pub fn read_ca_file(file: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("reading the SMTP CA file {}", file.display()))
}

/// The SMTP transport for a parsed URL, authenticating as its user with
/// `password`; `ca_pem` holds extra trusted roots (see [`read_ca_file`]).
pub fn transport(
    url: &SmtpUrl,
    password: Option<String>,
    ca_pem: Option<&[u8]>,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
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
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::Mailer;

    /// The mailer of an SMTP URL, as `serve --smtp-url` builds it.
    fn smtp(url: &str, password: Option<&str>) -> anyhow::Result<Mailer> {
        Mailer::smtp(&SmtpUrl::parse(url)?, password.map(str::to_owned), None)
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
        assert!(smtp("smtps://mail.example.com", None).is_ok());
        assert!(smtp("smtps://u@mail.example.com", Some("p")).is_ok());
        assert!(smtp("smtp://u@mail.example.com", Some("p")).is_ok());
        let e = smtp("smtps://u@mail.example.com", None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(SMTP_PASSWORD_ENV), "{e}");
        let e = smtp("smtps://mail.example.com", Some("p"))
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
        let url = SmtpUrl::parse("smtps://mail.example.com").unwrap();
        let pem = read_ca_file(&f).unwrap();
        assert!(Mailer::smtp(&url, None, Some(&pem)).is_err());
        assert!(read_ca_file(&dir.path().join("x")).is_err());
    }
}
