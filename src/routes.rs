//! Every route path of the app, in one place.
//!
//! The two link paths are Kaltura's own, so links in emails sent by a real
//! Kaltura server open the matching pages here.

/// The sign-in card.
pub const LOGIN: &str = "/login";
/// The signed-in account page.
pub const ACCOUNT: &str = "/account";
/// Prefix of the enrollment (QR) link: `/actions/auth-info/{hashKey}`.
pub const AUTH_INFO_PREFIX: &str = "/actions/auth-info/";
/// Prefix of the set-new-password link: `/actions/restore-password/{hashKey}`.
pub const RESTORE_PASSWORD_PREFIX: &str = "/actions/restore-password/";

/// True for the paths the sign-in page may send the user back to after
/// signing in: only the app's own signed-in pages, never an outside URL.
pub fn is_safe_return_path(path: &str) -> bool {
    path == ACCOUNT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_account_page_is_a_return_target() {
        assert!(is_safe_return_path("/account"));
        assert!(!is_safe_return_path("//evil.example"));
        assert!(!is_safe_return_path("https://evil.example/account"));
        assert!(!is_safe_return_path("/login"));
    }
}
