//! The enrollment view: everything needed to put a key into an authenticator
//! app and to make sure it worked, before the user leaves the page.
//!
//! Serves the enrollment page (after "Show QR code") and the set-new-password
//! page (after a reset gives a 2FA login a new key). It shows:
//! - the QR code, drawn in the browser ([`QrCode`]), or a real Kaltura's PNG;
//! - "Can't scan it?" with the manual key ([`SecretKey`]);
//! - "Add to authenticator app", the `otpauth://` link, for someone reading
//!   the email on the phone that holds the app;
//! - "Check your code", computed in the browser ([`crate::totp`]), so a wrong
//!   scan or a phone clock that is off shows up now rather than at sign-in;
//! - Continue, to the sign-in card with the email filled and the code step open.
//!
//! The key lives only in this view's memory: never in storage, logs, the
//! router or a URL we create, and it is dropped with the view.

use kaltura_api::OtpAuthUri;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

use crate::components::qr_code::{QrCode, QrPng};
use crate::components::secret_key::{SecretKey, describe_parameters};
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
pub fn qr_label(account: Option<&str>) -> String {
    match account {
        Some(account) => format!("QR code to add {account} to your authenticator app"),
        None => "QR code to add your account to your authenticator app".to_owned(),
    }
}

/// What to tell the user about a checked code, and whether it is good news.
pub fn check_message(check: CodeCheck, period: u64) -> (bool, String) {
    match check {
        CodeCheck::Accepted => (true, "Your authenticator app is set up.".to_owned()),
        CodeCheck::ClockOff { steps } => {
            let seconds = steps.unsigned_abs() * period;
            let amount = if seconds >= 90 {
                format!("about {} minutes", (seconds + 30) / 60)
            } else {
                format!("about {seconds} seconds")
            };
            let direction = if steps > 0 { "ahead" } else { "behind" };
            (
                false,
                format!(
                    "That code is right for this key, but your phone's clock is {amount} {direction}. \
                     Turn on automatic date and time in the phone's settings, then try a new code."
                ),
            )
        }
        CodeCheck::WrongKey => (
            false,
            "That code doesn't match this key. Check that you scanned this QR code, not an older one \
             or another account's entry, and that your phone's clock is set automatically."
                .to_owned(),
        ),
        CodeCheck::Malformed => (false, "Type the 6-digit code your app shows.".to_owned()),
    }
}

/// Takes the link's hash key out of the address bar (`history.replaceState`)
/// once the server has answered, leaving `path` (the link's path without the
/// key): the key is spent or useless by then, and it should not stay in the
/// history, a bookmark or a shared screenshot.
pub fn forget_hash_key_in_address_bar(path: &str) {
    #[cfg(target_arch = "wasm32")]
    if let Some(Ok(history)) = web_sys::window().map(|w| w.history()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = path;
}

fn unix_now() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        (js_sys::Date::now() / 1000.0) as u64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// The whole enrollment view for one key; see the module docs.
#[component]
pub fn EnrollmentView(
    /// The key to enroll (held only in this view's memory).
    enrollment: EnrollmentKey,
) -> impl IntoView {
    let prefill = use_login_prefill();
    let navigate = use_navigate();
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
        navigate("/login", NavigateOptions::default());
    };

    let body = match enrollment {
        EnrollmentKey::Png(base64) => view! {
            <QrPng base64=base64 label=label />
            <p class="scan-hint">
                "Open your authenticator app, add an account and scan this code."
            </p>
        }
        .into_any(),
        EnrollmentKey::Uri(uri) => {
            let parameters = describe_parameters(uri.digits, uri.period, &uri.algorithm);
            let link = uri.to_uri();
            let text = link.clone();
            view! {
                <QrCode text=text label=label />
                <p class="scan-hint">
                    "Open your authenticator app, add an account and scan this code."
                </p>
                <SecretKey
                    secret=uri.secret.clone()
                    account=uri.label()
                    parameters=parameters
                />
                <p class="same-phone">
                    "Reading this on the phone that has your authenticator app? "
                    <a href=link data-testid="otpauth-link" rel="noreferrer">
                        "Add to authenticator app"
                    </a>
                </p>
                <CheckCode uri=uri />
            }
            .into_any()
        }
    };

    view! {
        <section class="enrollment" aria-label="Authenticator setup">
            {body}
            <div class="actions">
                <button type="button" class="primary" data-testid="enroll-continue" on:click=on_continue>
                    "Continue to sign in"
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
    let result = RwSignal::new(None::<(bool, String)>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let check =
            key.with_value(|key| totp::check_code(key, &code.get(), unix_now(), period, digits));
        result.set(Some(check_message(check, period)));
    };
    view! {
        <form class="check-code" on:submit=on_submit>
            <h2>"Check your code"</h2>
            <p class="hint">"Optional: type the code your app now shows to make sure it was added correctly."</p>
            <div class="field">
                <label for="check-code">"Code from your app"</label>
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
                        "Check"
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
                {move || result.get().map(|(_, message)| message)}
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
        assert!(qr_label(Some("ada@example.com")).contains("ada@example.com"));
        assert!(qr_label(None).contains("QR code"));
    }

    #[test]
    fn check_messages_say_set_up_or_what_went_wrong() {
        assert_eq!(
            check_message(CodeCheck::Accepted, 30),
            (true, "Your authenticator app is set up.".to_owned())
        );
        let (ok, clock) = check_message(CodeCheck::ClockOff { steps: -4 }, 30);
        assert!(!ok);
        assert!(clock.contains("clock is about 2 minutes behind"), "{clock}");
        let (_, clock) = check_message(CodeCheck::ClockOff { steps: 2 }, 30);
        assert!(clock.contains("about 60 seconds ahead"), "{clock}");
        let (ok, wrong) = check_message(CodeCheck::WrongKey, 30);
        assert!(!ok && wrong.contains("another account"), "{wrong}");
    }
}
