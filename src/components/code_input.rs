//! The authenticator-code field.
//!
//! People type codes as "123456", "123 456" or "123-456", and paste them with
//! surrounding spaces; [`normalize_code`] turns all of these into six digits,
//! and the field submits by itself, once, as soon as six digits are present.

use leptos::prelude::*;

use crate::i18n::t;

/// The number of digits of a TOTP code.
pub const CODE_LENGTH: usize = 6;

/// Removes what people put between or around the digits (whitespace, dashes,
/// dots), keeping everything else so a wrong character is still visible.
pub fn normalize_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.' | '\u{2010}'..='\u{2015}'))
        .collect()
}

/// The code when the input holds exactly six digits once normalised.
pub fn complete_code(input: &str) -> Option<String> {
    let code = normalize_code(input);
    (code.len() == CODE_LENGTH && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// Decides whether a change of the field's text should submit: only when the
/// text now holds a complete code that was not submitted already. Returns the
/// code to submit and the new "already submitted" memory.
pub fn auto_submit(input: &str, already: Option<&str>) -> (Option<String>, Option<String>) {
    match complete_code(input) {
        Some(code) if already == Some(code.as_str()) => (None, Some(code)),
        Some(code) => (Some(code.clone()), Some(code)),
        None => (None, None),
    }
}

/// A labelled one-time-code input (`type=text`, `inputmode=numeric`,
/// `autocomplete=one-time-code`). Calls `on_complete` with the normalised code
/// once when six digits are present, whether typed or pasted; the parent
/// clears `value` after a refused code, which re-arms the auto-submit.
#[component]
pub fn CodeInput(
    /// The input's `id`.
    id: &'static str,
    /// The key of the visible label.
    label: &'static str,
    /// The field's raw text, two-way bound; normalise with [`normalize_code`].
    value: RwSignal<String>,
    /// Called with the six digits when the code is complete.
    #[prop(into)]
    on_complete: Callback<String>,
    /// Disables the input.
    #[prop(optional, into)]
    disabled: Signal<bool>,
    /// An element id describing the field (a hint, an error).
    #[prop(optional)]
    describedby: Option<&'static str>,
) -> impl IntoView {
    let submitted = StoredValue::new(None::<String>);
    let on_input = move |text: String| {
        let (fire, memory) = auto_submit(&text, submitted.get_value().as_deref());
        submitted.set_value(memory);
        if let Some(code) = fire {
            value.set(code.clone());
            on_complete.run(code);
        }
    };
    // A cleared field (after a refused code) must be able to auto-submit the
    // same digits again.
    Effect::new(move |_| {
        if complete_code(&value.get()).is_none() {
            submitted.set_value(None);
        }
    });
    view! {
        <div class="field">
            <label for=id>{t(label)}</label>
            <input
                id=id
                name=id
                class="code"
                type="text"
                inputmode="numeric"
                autocomplete="one-time-code"
                autocapitalize="off"
                spellcheck="false"
                aria-describedby=describedby
                disabled=move || disabled.get()
                prop:value=move || value.get()
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    value.set(text.clone());
                    on_input(text);
                }
            />
        </div>
    }
}

/// A [`CodeInput`] that stays collapsed, disabled and hidden from assistive
/// technology until the server asks for the code (`MISSING_OTP`), then opens
/// with the same CSS transition as the sign-in card. Used by the forms that
/// change a password, whose code is needed only for 2FA logins.
#[component]
pub fn ExpandingCodeInput(
    /// The input's `id`.
    id: &'static str,
    /// Whether the code has been asked for.
    #[prop(into)]
    shown: Signal<bool>,
    /// The field's raw text, two-way bound.
    value: RwSignal<String>,
    /// Called with the six digits when the code is complete.
    #[prop(into)]
    on_complete: Callback<String>,
) -> impl IntoView {
    view! {
        <div class="code-wrap" class:expanded=move || shown.get()>
            <div class="code-step" aria-hidden=move || if shown.get() { "false" } else { "true" }>
                <CodeInput
                    id=id
                    label="common.code-label"
                    value=value
                    disabled=Signal::derive(move || !shown.get())
                    on_complete=on_complete
                />
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_dashes_and_surrounding_whitespace_are_removed() {
        assert_eq!(normalize_code("123456"), "123456");
        assert_eq!(normalize_code("123 456"), "123456");
        assert_eq!(normalize_code("123-456"), "123456");
        assert_eq!(normalize_code("  123 456 \n"), "123456");
        assert_eq!(normalize_code("\t12 34 56\u{a0}"), "123456");
        assert_eq!(normalize_code("123\u{2013}456"), "123456");
    }

    #[test]
    fn letters_are_kept_so_the_user_sees_them() {
        assert_eq!(normalize_code("12a 456"), "12a456");
    }

    #[test]
    fn a_code_is_complete_only_with_exactly_six_digits() {
        assert_eq!(complete_code(" 123-456 "), Some("123456".into()));
        assert_eq!(complete_code("12345"), None);
        assert_eq!(complete_code("1234567"), None);
        assert_eq!(complete_code("12a456"), None);
        assert_eq!(complete_code(""), None);
    }

    #[test]
    fn auto_submit_fires_once_per_complete_code() {
        let (fire, memory) = auto_submit("123 45", None);
        assert_eq!((fire, memory.clone()), (None, None));
        let (fire, memory) = auto_submit("123 456", memory.as_deref());
        assert_eq!(fire.as_deref(), Some("123456"));
        // The field is rewritten to the normalised digits: no second submit.
        let (fire, memory) = auto_submit("123456", memory.as_deref());
        assert_eq!(fire, None);
        // Editing the code and completing it again submits again.
        let (_, memory) = auto_submit("12345", memory.as_deref());
        let (fire, _) = auto_submit("123457", memory.as_deref());
        assert_eq!(fire.as_deref(), Some("123457"));
    }
}
