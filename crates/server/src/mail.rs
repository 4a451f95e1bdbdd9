//! Outgoing mail through lettre: by default each message is written as an
//! `.eml` file into `<data-dir>/outbox/`; with `--smtp-url` it goes to an SMTP
//! relay instead. Messages are plain text, 7bit, with every link alone on its
//! own line (never wrapped or quoted-printable encoded, so a person or a test
//! can copy it whole).

use std::path::PathBuf;

use anyhow::Context as _;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// `.eml` files in a folder.
    Outbox(PathBuf, AsyncFileTransport<Tokio1Executor>),
    /// An SMTP relay (plain SMTP; put a TLS-terminating relay in front for
    /// remote servers).
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

impl Mailer {
    /// Writes into `dir` (created if missing).
    pub fn outbox(dir: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating outbox {}", dir.display()))?;
        Ok(Self::Outbox(dir.clone(), AsyncFileTransport::new(dir)))
    }

    /// Sends through `smtp://[user:pass@]host[:port]`.
    pub fn smtp(url: &str) -> anyhow::Result<Self> {
        let rest = url.strip_prefix("smtp://").ok_or_else(|| {
            anyhow::anyhow!("--smtp-url must look like smtp://[user:pass@]host[:port]")
        })?;
        let rest = rest.trim_end_matches('/');
        let (auth, hostport) = match rest.rsplit_once('@') {
            Some((auth, hp)) => (Some(auth), hp),
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().context("SMTP port is not a number")?),
            None => (hostport, 25),
        };
        anyhow::ensure!(!host.is_empty(), "--smtp-url has no host");
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(port);
        if let Some(auth) = auth {
            let (user, pass) = auth.split_once(':').unwrap_or((auth, ""));
            builder = builder.credentials(Credentials::new(user.to_owned(), pass.to_owned()));
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
            Self::Outbox(_, t) => t
                .send(message)
                .await
                .map(|_| ())
                .context("writing to the outbox"),
            Self::Smtp(t) => t
                .send(message)
                .await
                .map(|_| ())
                .context("sending over SMTP"),
        }
    }
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
        assert!(Mailer::smtp("smtp://localhost:2525").is_ok());
        assert!(Mailer::smtp("smtp://u:p@mail.example.com").is_ok());
        assert!(Mailer::smtp("http://x").is_err());
        assert!(Mailer::smtp("smtp://host:notaport").is_err());
    }
}

#[cfg(test)]
mod smtp_tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

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
        let m = Mailer::smtp(&format!("smtp://127.0.0.1:{port}")).unwrap();
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
