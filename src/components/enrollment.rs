//! The enrollment view: everything needed to put a key into an authenticator
//! app and to make sure it worked, before the user leaves the page.
//!
//! Serves the enrollment page (after "Show QR code") and the set-new-password
//! page (after a reset gives a 2FA login a new key). It shows:
//! - the QR code, drawn in the browser ([`QrCode`]), or a real Kaltura's PNG;
//! - "Can't scan it?" with the manual key ([`SecretKey`]);
//! - "Add to authenticator app", the `otpauth://` link, for someone reading
//!   the email on the phone that holds the app: a large button, first on a
//!   touch screen (`pointer: coarse`, in the stylesheet); the QR code is the
//!   same link;
//! - "Check your code", computed in the browser ([`crate::totp`]), so a wrong
//!   scan or a phone clock that is off shows up now rather than at sign-in;
//! - Continue, to the sign-in card with the email filled and the code step open.
//!
//! The key lives only in this view's memory: never in storage, logs, the
//! router or a URL we create, and it is dropped with the view.

use crate::routes::{self, use_navigator};
use kaltura_api::OtpAuthUri;
use leptos::prelude::*;

use crate::components::qr_code::{QrCode, QrPng};
use crate::components::secret_key::{SecretKey, describe_parameters};
use crate::i18n::{Text, t, text};
use crate::platform;
use crate::session::use_login_prefill;
use crate::totp::{self, CodeCheck};

/// What `user.generateQrCode` (or `setInitialPassword`'s `qrCode`) gave us.
#[derive(Clone)]
pub enum EnrollmentKey {
    /// Ours: the `otpauth://` URI, so the browser holds the secret.
    Uri(OtpAuthUri),
    /// A real Kaltura: base64 PNG bytes of a QR code drawn elsewhere; the
    /// secret is not available to the page.
    Png(String),
}

impl EnrollmentKey {
    /// Reads a server's QR reply: an otpauth URI when it parses as one,
    /// otherwise base64 PNG bytes (optionally as a `data:` URL). `None` for
    /// anything else (an empty or broken reply).
    pub fn from_reply(reply: &str) -> Option<Self> {
        let reply = reply.trim();
        if reply.len() >= 8 && reply[..8].eq_ignore_ascii_case("otpauth:") {
            return OtpAuthUri::parse(reply).ok().map(Self::Uri);
        }
        let payload = reply
            .strip_prefix("data:image/png;base64,")
            .unwrap_or(reply);
        let is_base64 = !payload.is_empty()
            && payload.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\n' | b'\r')
            });
        // Every PNG starts with the bytes 89 50 4E 47, which base64 writes as "iVBORw".
        (is_base64 && payload.starts_with("iVBOR")).then(|| Self::Png(payload.to_owned()))
    }

    /// The account the key is for, when known.
    pub fn account(&self) -> Option<&str> {
        match self {
            Self::Uri(uri) => Some(uri.account.as_str()).filter(|a| !a.is_empty()),
            Self::Png(_) => None,
        }
    }

    /// The email to fill in on the sign-in card: the account, when it is an
    /// email (Kaltura's own labels are `{userId}_{host}_KMC`, not emails).
    pub fn login_email(&self) -> Option<String> {
        self.account()
            .filter(|a| looks_like_email(a))
            .map(str::to_owned)
    }
}

/// A plausible email: one `@` with text on both sides and a dot in the domain.
fn looks_like_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// The `aria-label` of the QR image: what it is and for which account.
pub fn qr_label(account: Option<&str>) -> Text {
    match account {
        Some(account) => Text::with("qr.label-account", "account", account),
        None => Text::key("qr.label"),
    }
}

/// What to tell the user about a checked code, and whether it is good news.
pub fn check_message(check: CodeCheck, period: u64) -> (bool, Text) {
    match check {
        CodeCheck::Accepted => (true, Text::key("enroll.set-up")),
        CodeCheck::ClockOff { steps } => {
            let seconds = steps.unsigned_abs() * period;
            // One whole sentence per unit and direction, each with its plural forms.
            let (key, count) = match (seconds >= 90, steps > 0) {
                (true, true) => ("enroll.clock-ahead-minutes", (seconds + 30) / 60),
                (true, false) => ("enroll.clock-behind-minutes", (seconds + 30) / 60),
                (false, true) => ("enroll.clock-ahead-seconds", seconds),
                (false, false) => ("enroll.clock-behind-seconds", seconds),
            };
            (false, Text::Count(key, count, Vec::new()))
        }
        CodeCheck::WrongKey => (false, Text::key("enroll.wrong-key")),
        CodeCheck::Malformed => (false, Text::key("enroll.malformed")),
    }
}

/// The whole enrollment view for one key; see the module docs.
#[component]
pub fn EnrollmentView(
    /// The key to enroll (held only in this view's memory).
    enrollment: EnrollmentKey,
) -> impl IntoView {
    let prefill = use_login_prefill();
    let navigate = use_navigator();
    let email = enrollment.login_email();
    let label = qr_label(enrollment.account());

    let on_continue = move |_| {
        let email = email.clone();
        prefill.update(|p| {
            if email.is_some() {
                p.email = email;
            }
            p.open_code_step = true;
        });
        navigate.go(routes::LOGIN);
    };

    let body = match enrollment {
        EnrollmentKey::Png(base64) => view! {
            <QrPng base64=base64 label=label />
            <p class="scan-hint">{t("enroll.scan-hint")}</p>
        }
        .into_any(),
        EnrollmentKey::Uri(uri) => {
            let parameters = describe_parameters(uri.digits, uri.period, &uri.algorithm);
            let link = uri.to_uri();
            let text = link.clone();
            // One DOM for every device: on a coarse pointer the stylesheet
            // moves "Add to authenticator app" above the QR code (a phone
            // cannot scan its own screen). The QR code is the same link, so a
            // tap on it works, and a screen reader meets a working link first.
            view! {
                <a class="qr-link" href=link.clone() data-testid="qr-link" rel="noreferrer">
                    <QrCode text=text label=label />
                </a>
                <p class="scan-hint">{t("enroll.scan-hint")}</p>
                <SecretKey
                    secret=uri.secret.clone()
                    account=uri.label()
                    parameters=parameters
                />
                <div class="add-to-app" data-testid="add-to-app">
                    <p>{t("enroll.same-phone")}</p>
                    <a class="button" href=link data-testid="otpauth-link" rel="noreferrer">
                        {t("enroll.add-to-app")}
                    </a>
                </div>
                <CheckCode uri=uri />
            }
            .into_any()
        }
    };

    view! {
        <section class="enrollment" aria-label=t("enroll.setup-region")>
            {body}
            <div class="actions">
                <button type="button" class="primary" data-testid="enroll-continue" on:click=on_continue>
                    {t("common.continue-to-sign-in")}
                </button>
            </div>
        </section>
    }
}

/// "Check your code": compares a typed code with the key, in the browser.
#[component]
fn CheckCode(
    /// The key being enrolled.
    uri: OtpAuthUri,
) -> impl IntoView {
    // Only SHA-1 is computed here; for another algorithm the check is left out
    // rather than giving wrong advice.
    let key = uri
        .secret_bytes()
        .ok()
        .filter(|_| uri.algorithm.eq_ignore_ascii_case("SHA1"));
    let Some(key) = key else {
        return ().into_any();
    };
    let key = StoredValue::new(key);
    let (digits, period) = (uri.digits, uri.period);
    let code = RwSignal::new(String::new());
    let result = RwSignal::new(None::<(bool, Text)>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let check = key.with_value(|key| {
            totp::check_code(key, &code.get(), platform::unix_now(), period, digits)
        });
        result.set(Some(check_message(check, period)));
    };
    view! {
        <form class="check-code" on:submit=on_submit>
            <h2>{t("enroll.check-title")}</h2>
            <p class="hint">{t("enroll.check-hint")}</p>
            <div class="field">
                <label for="check-code">{t("enroll.check-label")}</label>
                <div class="code-row">
                    <input
                        id="check-code"
                        type="text"
                        inputmode="numeric"
                        autocomplete="one-time-code"
                        maxlength="12"
                        aria-describedby="check-code-result"
                        bind:value=code
                    />
                    <button type="submit" class="secondary" data-testid="check-code-submit">
                        {t("enroll.check")}
                    </button>
                </div>
            </div>
            <p
                id="check-code-result"
                role="status"
                aria-live="polite"
                data-testid="check-code-result"
                class=move || match result.get() {
                    Some((true, _)) => "check-result ok",
                    Some((false, _)) => "check-result problem",
                    None => "check-result",
                }
            >
                {text(move || result.get().map(|(_, message)| message.render()).unwrap_or_default())}
            </p>
        </form>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str =
        "otpauth://totp/Kaltura:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Kaltura";

    #[test]
    fn an_otpauth_reply_is_read_as_a_key_with_its_account() {
        let key = EnrollmentKey::from_reply(URI).unwrap();
        assert!(matches!(key, EnrollmentKey::Uri(_)));
        assert_eq!(key.account(), Some("ada@example.com"));
        assert_eq!(key.login_email().as_deref(), Some("ada@example.com"));
    }

    #[test]
    fn a_base64_png_reply_is_read_as_an_image_with_or_without_a_data_prefix() {
        let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
        for reply in [png.to_owned(), format!("data:image/png;base64,{png}")] {
            match EnrollmentKey::from_reply(&reply) {
                Some(EnrollmentKey::Png(payload)) => assert_eq!(payload, png),
                _ => panic!("expected a PNG"),
            }
        }
        assert_eq!(EnrollmentKey::Png(png.into()).account(), None);
    }

    #[test]
    fn an_empty_broken_or_non_totp_reply_is_not_a_key() {
        for reply in [
            "",
            "null",
            "<html>",
            "otpauth://hotp/a?secret=JBSWY3DP",
            "otpauth://totp/a",
        ] {
            assert!(EnrollmentKey::from_reply(reply).is_none(), "{reply:?}");
        }
    }

    #[test]
    fn only_an_email_account_prefills_the_sign_in_card() {
        let kaltura = EnrollmentKey::from_reply(
            "otpauth://totp/ada_kmc.example.com_KMC?secret=JBSWY3DPEHPK3PXP",
        )
        .unwrap();
        assert_eq!(kaltura.login_email(), None);
        assert!(!looks_like_email("a@b"));
        assert!(!looks_like_email("a b@c.d"));
        assert!(looks_like_email("a.b+c@d.example"));
    }

    #[test]
    fn the_qr_label_names_the_account() {
        assert!(
            qr_label(Some("ada@example.com"))
                .to_string()
                .contains("ada@example.com")
        );
        assert!(qr_label(None).to_string().contains("QR code"));
    }

    #[test]
    fn check_messages_say_set_up_or_what_went_wrong() {
        let message = |check| {
            let (ok, text) = check_message(check, 30);
            (ok, text.to_string())
        };
        assert_eq!(
            message(CodeCheck::Accepted),
            (true, "Your authenticator app is set up.".to_owned())
        );
        let (ok, clock) = message(CodeCheck::ClockOff { steps: -4 });
        assert!(!ok);
        assert!(clock.contains("clock is about 2 minutes behind"), "{clock}");
        let (_, clock) = message(CodeCheck::ClockOff { steps: 2 });
        assert!(clock.contains("about 60 seconds ahead"), "{clock}");
        let (ok, wrong) = message(CodeCheck::WrongKey);
        assert!(!ok && wrong.contains("another account"), "{wrong}");
    }
}
