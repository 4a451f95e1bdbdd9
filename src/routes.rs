//! Every route path of the app, in one place, and the one function that reads
//! a path into the page it shows ([`Route::parse`]).
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

/// The page a path shows. The link pages carry the link's hash key, read from
/// the path the email linked to; the app never writes a key into a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/`: sends the browser on to [`LOGIN`].
    Root,
    /// [`LOGIN`].
    Login,
    /// [`ACCOUNT`].
    Account,
    /// `/actions/auth-info/{hashKey}`.
    Enroll(String),
    /// `/actions/restore-password/{hashKey}`.
    RestorePassword(String),
    /// Anything else.
    NotFound,
}

impl Route {
    /// Reads an (already decoded) path. One trailing `/` is ignored; a link's
    /// key is exactly one non-empty path segment.
    pub fn parse(path: &str) -> Route {
        let path = match path.strip_suffix('/') {
            Some(trimmed) if !trimmed.is_empty() => trimmed,
            _ => path,
        };
        let key = |prefix: &str| {
            path.strip_prefix(prefix)
                .filter(|key| !key.is_empty() && !key.contains('/'))
                .map(str::to_owned)
        };
        match path {
            "/" | "" => Route::Root,
            LOGIN => Route::Login,
            ACCOUNT => Route::Account,
            _ => {
                if let Some(key) = key(AUTH_INFO_PREFIX) {
                    Route::Enroll(key)
                } else if let Some(key) = key(RESTORE_PASSWORD_PREFIX) {
                    Route::RestorePassword(key)
                } else {
                    Route::NotFound
                }
            }
        }
    }
}

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

    #[test]
    fn plain_paths_name_their_pages_with_or_without_a_trailing_slash() {
        assert_eq!(Route::parse("/"), Route::Root);
        assert_eq!(Route::parse(""), Route::Root);
        assert_eq!(Route::parse("/login"), Route::Login);
        assert_eq!(Route::parse("/login/"), Route::Login);
        assert_eq!(Route::parse("/account"), Route::Account);
        assert_eq!(Route::parse("/account/"), Route::Account);
    }

    #[test]
    fn link_paths_carry_their_hash_key() {
        assert_eq!(
            Route::parse("/actions/auth-info/a2FsdHVyYQ"),
            Route::Enroll("a2FsdHVyYQ".into())
        );
        assert_eq!(
            Route::parse("/actions/restore-password/a2F-_sd/"),
            Route::RestorePassword("a2F-_sd".into())
        );
    }

    #[test]
    fn a_link_path_without_exactly_one_key_segment_is_not_found() {
        // What the address bar holds once the app has taken the key out of it.
        assert_eq!(Route::parse("/actions/auth-info"), Route::NotFound);
        assert_eq!(Route::parse("/actions/auth-info/"), Route::NotFound);
        assert_eq!(Route::parse("/actions/restore-password"), Route::NotFound);
        assert_eq!(Route::parse("/actions/auth-info/a/b"), Route::NotFound);
        assert_eq!(Route::parse("/actions/auth-info//"), Route::NotFound);
    }

    #[test]
    fn unknown_paths_and_near_misses_are_not_found() {
        for path in [
            "/logins",
            "/Login",
            "/account/x",
            "//login",
            "/actions",
            "/x",
        ] {
            assert_eq!(Route::parse(path), Route::NotFound, "{path}");
        }
    }
}
