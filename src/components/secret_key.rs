//! The manual key, for authenticator apps (or cameras) that cannot scan.
//!
//! Serves the enrollment view's "Can't scan it?": the secret in groups of
//! four characters (easy to type and to compare), a Copy button, the account
//! name and the key's parameters, which some apps ask for when a key is typed
//! in by hand.

use kaltura_api::otpauth::group_secret;
use leptos::prelude::*;

use crate::i18n::{Text, t, text, tr};

/// The key of what the Copy button reports.
pub const COPIED: &str = "secret.copied";
/// See [`COPIED`].
pub const COPY_FAILED: &str = "secret.copy-failed";

/// The parameters an authenticator asks for when a key is typed in, e.g.
/// "time-based, 6 digits, every 30 seconds, SHA-1".
pub fn describe_parameters(digits: u32, period: u64, algorithm: &str) -> Text {
    let algorithm = match algorithm.to_ascii_uppercase().as_str() {
        "SHA1" => "SHA-1".to_owned(),
        "SHA256" => "SHA-256".to_owned(),
        "SHA512" => "SHA-512".to_owned(),
        other => other.to_owned(),
    };
    Text::Key(
        "secret.parameters",
        vec![
            ("digits", digits.to_string()),
            ("period", period.to_string()),
            ("algorithm", algorithm),
        ],
    )
}

/// Copies `text` through `navigator.clipboard.writeText`. Reached through
/// `Reflect` because the Clipboard API is missing on insecure origins and in
/// some embedded browsers: then this is an error to report, not a crash.
pub async fn copy_to_clipboard(text: &str) -> Result<(), ()> {
    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::JsCast;

    let window = web_sys::window().ok_or(())?;
    let navigator = Reflect::get(&window, &"navigator".into()).map_err(drop)?;
    let clipboard = Reflect::get(&navigator, &"clipboard".into()).map_err(drop)?;
    if clipboard.is_undefined() || clipboard.is_null() {
        return Err(());
    }
    let write: Function = Reflect::get(&clipboard, &"writeText".into())
        .map_err(drop)?
        .dyn_into()
        .map_err(drop)?;
    let promise: Promise = write
        .call1(&clipboard, &text.into())
        .map_err(drop)?
        .dyn_into()
        .map_err(drop)?;
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map(drop)
        .map_err(drop)
}

/// "Can't scan it?" and, once opened, the key to type or copy.
#[component]
pub fn SecretKey(
    /// The base32 secret, without spaces. Held only in memory.
    secret: String,
    /// The account the key is for, as the authenticator will list it.
    account: String,
    /// The key's parameters in words (see [`describe_parameters`]).
    parameters: Text,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let copy_result = RwSignal::new(None::<&'static str>);
    let grouped = group_secret(&secret);
    let secret = StoredValue::new(secret);
    let copy = move |_| {
        copy_result.set(None);
        let text = secret.get_value();
        leptos::task::spawn_local(async move {
            let outcome = copy_to_clipboard(&text).await;
            copy_result.set(Some(if outcome.is_ok() { COPIED } else { COPY_FAILED }));
        });
    };
    view! {
        <div class="secret-key">
            <button
                type="button"
                class="link"
                data-testid="cant-scan"
                aria-expanded=move || if open.get() { "true" } else { "false" }
                aria-controls="manual-key"
                on:click=move |_| open.update(|o| *o = !*o)
            >
                {t("secret.cant-scan")}
            </button>
            <div id="manual-key" class="manual-key" hidden=move || !open.get()>
                <p>{t("secret.intro")}</p>
                <dl>
                    <dt>{t("secret.account")}</dt>
                    <dd data-testid="secret-account">{account}</dd>
                    <dt>{t("secret.key")}</dt>
                    <dd class="key-row">
                        <code data-testid="secret-key" class="key" translate="no">
                            {grouped}
                        </code>
                        <button
                            type="button"
                            class="secondary"
                            data-testid="copy-secret"
                            on:click=copy
                        >
                            {t("secret.copy")}
                        </button>
                    </dd>
                    <dt>{t("secret.type")}</dt>
                    <dd>{parameters.signal()}</dd>
                </dl>
                <p
                    class="copy-result"
                    role="status"
                    aria-live="polite"
                    data-testid="copy-result"
                >
                    {text(move || copy_result.get().map(tr).unwrap_or_default())}
                </p>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_described_in_words_with_a_readable_algorithm_name() {
        assert_eq!(
            describe_parameters(6, 30, "SHA1").to_string(),
            "time-based, 6 digits, every 30 seconds, SHA-1"
        );
        assert_eq!(
            describe_parameters(8, 60, "sha256").to_string(),
            "time-based, 8 digits, every 60 seconds, SHA-256"
        );
    }
}
