//! Reusable pieces shared by the pages.
//!
//! - [`alert::Alert`] — an error (`role=alert`) or status (`aria-live=polite`) region;
//! - [`password_field::PasswordField`] — a password input with a show/hide toggle;
//! - [`code_input::CodeInput`] — the authenticator-code field (normalises, auto-submits);
//! - [`reset_request::ResetRequestForm`] — "send me a reset link";
//! - [`focus::focus_soon`], [`focus::Heading`] — the focus where attention must go;
//! - [`dead_link::DeadLink`] — a used, expired or unknown emailed link;
//! - [`qr_code`], [`secret_key`], [`enrollment`] — the authenticator enrollment view;
//! - [`signed_in_as::SignedInAs`] — "Signed in as {name} ({email})";
//! - [`language_picker::LanguagePicker`] — the language choice under every page.

pub mod alert;
pub mod code_input;
pub mod dead_link;
pub mod enrollment;
pub mod focus;
pub mod language_picker;
pub mod password_field;
pub mod qr_code;
pub mod reset_request;
pub mod secret_key;
pub mod signed_in_as;
