//! Where mail goes: `.eml` files in the outbox, or an SMTP relay; and the
//! one way a message is encoded for either (plain text, 7bit).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rand::RngCore as _;
use tokio::io::AsyncWriteExt as _;

use super::Mail;
use super::smtp::{self, SmtpUrl};

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// `.eml` files in a folder.
    Outbox(PathBuf),
    /// An SMTP relay.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
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

    /// Sends through the relay of a parsed `--smtp-url`, authenticating as
    /// its user with `password`; `ca_pem` (see [`smtp::read_ca_file`]) holds
    /// extra trusted roots besides the system's.
    pub fn smtp(
        url: &SmtpUrl,
        password: Option<String>,
        ca_pem: Option<&[u8]>,
    ) -> anyhow::Result<Self> {
        Ok(Self::Smtp(smtp::transport(url, password, ca_pem)?))
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
        let sent = match self {
            Self::Outbox(dir) => write_eml(dir, &message.formatted())
                .await
                .context("writing to the outbox"),
            Self::Smtp(t) => t
                .send(message)
                .await
                .map(|_| ())
                .context("sending over SMTP"),
        };
        crate::metrics::mail_done(sent.is_ok());
        sent
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::reset_mail;

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
    use crate::mail::qr_link_mail;
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
        let url = SmtpUrl::parse(&format!("smtp://127.0.0.1:{port}")).unwrap();
        let m = Mailer::smtp(&url, None, None).unwrap();
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
