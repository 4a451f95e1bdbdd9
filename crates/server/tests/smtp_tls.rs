//! SMTP over real TLS on loopback: a tiny SMTP receiver (implicit TLS, or
//! STARTTLS when offered) with a certificate from a CA made in the test.
//! The mailer delivers when it trusts that CA (`--smtp-ca-file`), refuses an
//! untrusted certificate, and with STARTTLS required never sends a command
//! past EHLO in the clear, nor a message to a relay that does not offer it.

use std::sync::Arc;

use base64::Engine as _;
use kmc_server::mail::{Mail, Mailer, SmtpSecurity, SmtpUrl};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What the receiver saw.
#[derive(Debug, Default)]
struct Seen {
    /// Every command line, with whether it came over TLS.
    commands: Vec<(bool, String)>,
    /// The DATA section, if a message arrived, and whether over TLS.
    data: Option<(bool, String)>,
}

/// A CA, its PEM, and a TLS acceptor for 127.0.0.1 / localhost signed by it.
struct Pki {
    ca_pem: String,
    acceptor: TlsAcceptor,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "kmc-server test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
        .unwrap()
        .signed_by(&leaf_key, &ca_cert, &ca_key)
        .unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    }
}

async fn read_line(io: &mut Box<dyn Io>) -> Option<String> {
    let mut line = Vec::new();
    loop {
        let mut b = [0u8; 1];
        match io.read(&mut b).await {
            Ok(1) => {}
            _ => return None,
        }
        if b[0] == b'\n' {
            break;
        }
        line.push(b[0]);
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Some(String::from_utf8_lossy(&line).into_owned())
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// TLS from the first byte.
    Implicit,
    /// Plain, offering STARTTLS.
    StartTls,
    /// Plain, not offering STARTTLS.
    PlainOnly,
}

/// Serves one SMTP connection and returns what it saw (also when the
/// client hangs up half-way, e.g. after a failed handshake).
async fn receive_one(listener: TcpListener, mode: Mode, acceptor: TlsAcceptor) -> Seen {
    let (tcp, _) = listener.accept().await.unwrap();
    let mut seen = Seen::default();
    let mut tls = mode == Mode::Implicit;
    let mut io: Box<dyn Io> = if tls {
        match acceptor.accept(tcp).await {
            Ok(s) => Box::new(s),
            Err(_) => return seen,
        }
    } else {
        Box::new(tcp)
    };
    if io.write_all(b"220 localhost ESMTP test\r\n").await.is_err() {
        return seen;
    }
    while let Some(line) = read_line(&mut io).await {
        seen.commands.push((tls, line.clone()));
        let verb = line
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" if !tls && mode == Mode::StartTls => b"250-localhost\r\n250 STARTTLS\r\n",
            "EHLO" if tls => b"250-localhost\r\n250 AUTH PLAIN\r\n",
            "EHLO" | "HELO" => b"250 localhost\r\n",
            "STARTTLS" if !tls && mode == Mode::StartTls => {
                io.write_all(b"220 go ahead\r\n").await.unwrap();
                match acceptor.accept(io).await {
                    Ok(s) => io = Box::new(s),
                    Err(_) => return seen,
                }
                tls = true;
                continue;
            }
            "AUTH" => b"235 ok\r\n",
            "DATA" => {
                io.write_all(b"354 go ahead\r\n").await.unwrap();
                let mut data = String::new();
                while let Some(l) = read_line(&mut io).await {
                    if l == "." {
                        break;
                    }
                    data.push_str(&l);
                    data.push('\n');
                }
                seen.data = Some((tls, data));
                b"250 queued\r\n"
            }
            "QUIT" => {
                io.write_all(b"221 bye\r\n").await.ok();
                break;
            }
            "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
            _ => b"502 no\r\n",
        };
        if io.write_all(reply).await.is_err() {
            break;
        }
    }
    seen
}

fn mail() -> Mail {
    Mail {
        to: "ada@example.com".into(),
        subject: "Reset your Kaltura password".into(),
        body: "Hello,\n\nhttp://kmc.test/actions/restore-password/TOKEN\n".into(),
    }
}

/// Starts a receiver; returns its port and the task that reports.
async fn receiver(mode: Mode, pki: &Pki) -> (u16, tokio::task::JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(receive_one(listener, mode, pki.acceptor.clone()));
    (port, task)
}

async fn seen(task: tokio::task::JoinHandle<Seen>) -> Seen {
    tokio::time::timeout(std::time::Duration::from_secs(20), task)
        .await
        .expect("the receiver did not finish")
        .unwrap()
}

const FROM: &str = "KMC Login <noreply@localhost>";

#[tokio::test]
async fn smtps_delivers_over_tls_to_a_relay_signed_by_the_ca_file() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let (port, task) = receiver(Mode::Implicit, &pki).await;
    let m = Mailer::smtp(
        &SmtpUrl::parse(&format!("smtps://kmc@127.0.0.1:{port}")).unwrap(),
        Some("relay password".into()),
        Some(&kmc_server::mail::smtp::read_ca_file(&ca_file).unwrap()),
    )
    .unwrap();
    m.send(FROM, mail()).await.unwrap();
    let seen = seen(task).await;
    let (over_tls, data) = seen.data.expect("no message arrived");
    assert!(over_tls);
    assert!(data.contains("To: ada@example.com"), "{data}");
    assert!(data.contains("/actions/restore-password/TOKEN"), "{data}");
    let auth = seen
        .commands
        .iter()
        .find(|(_, c)| c.starts_with("AUTH"))
        .expect("no AUTH");
    assert!(auth.0, "AUTH outside TLS");
    let plain = base64::engine::general_purpose::STANDARD
        .decode(auth.1.rsplit(' ').next().unwrap())
        .unwrap();
    assert_eq!(plain, b"\0kmc\0relay password");
    assert!(seen.commands.iter().all(|(tls, _)| *tls));
}

#[tokio::test]
async fn smtps_refuses_a_certificate_it_does_not_trust() {
    let pki = pki();
    let (port, task) = receiver(Mode::Implicit, &pki).await;
    let url = SmtpUrl::parse(&format!("smtps://127.0.0.1:{port}")).unwrap();
    let m = Mailer::smtp(&url, None, None).unwrap();
    let err = m
        .send(FROM, mail())
        .await
        .expect_err("sent to an untrusted relay");
    assert!(format!("{err:#}").contains("SMTP"), "{err:#}");
    let seen = seen(task).await;
    assert!(seen.data.is_none());
    assert!(seen.commands.is_empty(), "{:?}", seen.commands);
}

/// `smtp://` to a remote host requires STARTTLS. The receiver is on
/// loopback (where `smtp://` means plain), so the parsed URL of a remote
/// host is pointed at it.
fn required_starttls(port: u16) -> SmtpUrl {
    let remote = SmtpUrl::parse("smtp://kmc@mail.example.com").unwrap();
    assert_eq!(remote.security, SmtpSecurity::StartTlsRequired);
    assert_eq!(remote.port, 587);
    SmtpUrl {
        host: "127.0.0.1".into(),
        port,
        ..remote
    }
}

#[tokio::test]
async fn required_starttls_upgrades_before_auth_and_data() {
    let pki = pki();
    let (port, task) = receiver(Mode::StartTls, &pki).await;
    let m = Mailer::smtp(
        &required_starttls(port),
        Some("pw".into()),
        Some(pki.ca_pem.as_bytes()),
    )
    .unwrap();
    m.send(FROM, mail()).await.unwrap();
    let seen = seen(task).await;
    assert!(
        seen.data.expect("no message arrived").0,
        "DATA in the clear"
    );
    let clear: Vec<_> = seen
        .commands
        .iter()
        .filter(|(tls, _)| !tls)
        .map(|(_, c)| c.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(clear, ["EHLO", "STARTTLS"], "{:?}", seen.commands);
}

#[tokio::test]
async fn required_starttls_sends_nothing_to_a_relay_without_it() {
    let pki = pki();
    let (port, task) = receiver(Mode::PlainOnly, &pki).await;
    let m = Mailer::smtp(
        &required_starttls(port),
        Some("pw".into()),
        Some(pki.ca_pem.as_bytes()),
    )
    .unwrap();
    m.send(FROM, mail())
        .await
        .expect_err("sent without STARTTLS");
    let seen = seen(task).await;
    assert!(seen.data.is_none());
    assert!(
        seen.commands
            .iter()
            .all(|(_, c)| c.starts_with("EHLO") || c.starts_with("QUIT")),
        "{:?}",
        seen.commands
    );
}

#[tokio::test]
async fn required_starttls_refuses_an_untrusted_certificate() {
    let pki = pki();
    let (port, task) = receiver(Mode::StartTls, &pki).await;
    let m = Mailer::smtp(&required_starttls(port), Some("pw".into()), None).unwrap();
    m.send(FROM, mail())
        .await
        .expect_err("sent to an untrusted relay");
    let seen = seen(task).await;
    assert!(seen.data.is_none());
    assert!(seen.commands.iter().all(|(tls, _)| !tls));
}
