//! Run-time configuration read from `config.json` beside `index.html`.
//!
//! One build is deployed anywhere by editing that file: `serviceUrl` names the
//! Kaltura server (default: the page's own origin); `kmcUrl`, when set, is
//! KMC's base URL, to which the user is handed off after signing in;
//! `privileges` and `expiry` shape the KS that sign-in asks for (default: what
//! KMC itself asks for); `language` is the deployment's default language for
//! browsers whose languages the app does not speak (see [`crate::i18n`]). A missing or invalid file falls back to the defaults
//! with a console warning, never a blank page.
//!
//! Serves: [`AppConfig`], [`parse_config`] (pure, unit-tested), [`load_config`]
//! (browser) and [`use_config`].

use leptos::prelude::*;
use serde::Deserialize;

use crate::i18n::Lang;

/// The KS privileges KMC asks for at sign-in. Without `disableentitlement`
/// Kaltura issues `*`, which enforces category entitlements even for an
/// account admin, so an admin handed to KMC would see fewer entries there.
pub const DEFAULT_PRIVILEGES: &str = "disableentitlement,appid:kmc";

/// The KS lifetime KMC asks for at sign-in, in seconds (a day).
pub const DEFAULT_EXPIRY_SECONDS: i64 = 86_400;

/// The settings the app runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    /// Base URL of the Kaltura server, without `/api_v3` and without a
    /// trailing slash.
    pub service_url: String,
    /// KMC's base URL (e.g. `https://kaltura.example/index.php/kmcng`),
    /// without a trailing slash; when set, sign-in hands the session over to
    /// it (see [`AppConfig::kmc_handoff_url`]).
    pub kmc_url: Option<String>,
    /// `privileges` sent with `user.loginByLoginId`.
    pub privileges: String,
    /// `expiry` sent with `user.loginByLoginId`, in seconds.
    pub expiry: i64,
    /// The default language when neither a stored choice nor the browser's
    /// languages name one the app speaks (`None`: English).
    pub language: Option<Lang>,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self::defaults("")
    }
}

impl AppConfig {
    /// The defaults: the API on the page's own origin, no KMC handoff, and
    /// the KS KMC itself asks for.
    pub fn defaults(origin: &str) -> Self {
        Self {
            service_url: origin.trim_end_matches('/').to_owned(),
            kmc_url: None,
            privileges: DEFAULT_PRIVILEGES.to_owned(),
            expiry: DEFAULT_EXPIRY_SECONDS,
            language: None,
        }
    }

    /// Where the KS is posted to hand the session to KMC, when configured.
    pub fn kmc_handoff_url(&self) -> Option<String> {
        self.kmc_url.as_deref().map(kmc_handoff_url)
    }
}

/// KMC's route that reads a posted KS and keeps the session
/// (`actions/persist-login-by-ks`). KMC copies a posted `ks` into its
/// configuration on any page, but only this route and `actions/login-by-ks`
/// sign in with it; its root shows KMC's own login page instead.
pub fn kmc_handoff_url(kmc_base: &str) -> String {
    format!(
        "{}/actions/persist-login-by-ks",
        kmc_base.trim_end_matches('/')
    )
}

/// Why `config.json` was not used as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Not JSON, or not an object of the expected fields.
    Invalid(String),
    /// A URL field is not an absolute `http(s)://` URL.
    BadUrl(&'static str),
    /// `language` names a language the app does not speak.
    UnknownLanguage(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(why) => write!(f, "config.json is not valid: {why}"),
            Self::BadUrl(field) => write!(f, "config.json: {field} must be an http(s) URL"),
            Self::UnknownLanguage(tag) => write!(
                f,
                "config.json: language {tag:?} is not one of {}",
                Lang::ALL.map(Lang::tag).join(", ")
            ),
        }
    }
}

/// Parses the text of `config.json`. Empty strings mean "not set"; a
/// `serviceUrl` ending in `/api_v3` is accepted too (a common copy-paste from
/// Kaltura's client settings) and trimmed.
pub fn parse_config(text: &str, origin: &str) -> Result<AppConfig, ConfigError> {
    /// `config.json` as written; unknown fields are ignored.
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        service_url: Option<String>,
        kmc_url: Option<String>,
        privileges: Option<String>,
        expiry: Option<i64>,
        language: Option<String>,
    }
    let raw: Raw = crate::wire::from_text(text).map_err(ConfigError::Invalid)?;
    let (service_url, kmc_url) = (raw.service_url, raw.kmc_url);
    let privileges = non_empty(raw.privileges).unwrap_or_else(|| DEFAULT_PRIVILEGES.to_owned());
    let expiry = match raw.expiry {
        None => DEFAULT_EXPIRY_SECONDS,
        Some(seconds) if seconds > 0 => seconds,
        Some(_) => {
            return Err(ConfigError::Invalid(
                "expiry must be a positive whole number of seconds".into(),
            ));
        }
    };
    let service_url = match non_empty(service_url) {
        None => origin.trim_end_matches('/').to_owned(),
        Some(url) => {
            if !is_http_url(&url) {
                return Err(ConfigError::BadUrl("serviceUrl"));
            }
            let url = url.trim_end_matches('/');
            url.strip_suffix("/api_v3")
                .unwrap_or(url)
                .trim_end_matches('/')
                .to_owned()
        }
    };
    let kmc_url = match non_empty(kmc_url) {
        None => None,
        Some(url) if is_http_url(&url) => Some(url.trim_end_matches('/').to_owned()),
        Some(_) => return Err(ConfigError::BadUrl("kmcUrl")),
    };
    let language = match non_empty(raw.language) {
        None => None,
        Some(tag) => Some(Lang::from_tag(&tag).ok_or(ConfigError::UnknownLanguage(tag))?),
    };
    Ok(AppConfig {
        service_url,
        kmc_url,
        privileges,
        expiry,
        language,
    })
}

/// Parses `config.json`, or returns the defaults and the reason to warn about.
pub fn parse_or_default(text: Option<&str>, origin: &str) -> (AppConfig, Option<String>) {
    match text {
        None => (
            AppConfig::defaults(origin),
            Some("config.json could not be loaded; using the page's origin as serviceUrl".into()),
        ),
        Some(text) => match parse_config(text, origin) {
            Ok(config) => (config, None),
            Err(e) => (
                AppConfig::defaults(origin),
                Some(format!("{e}; using the defaults")),
            ),
        },
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn is_http_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    ["http://", "https://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme) && lower.len() > scheme.len())
}

/// The absolute URL of `file` beside `index.html` (resolved against the
/// document's base URI, so deep links like `/actions/auth-info/…` find it too).
pub fn beside_index(file: &str) -> String {
    crate::platform::beside_index(file)
}

/// Loads `config.json` from beside `index.html`, never failing: problems are
/// logged as a console warning.
pub async fn load_config() -> AppConfig {
    let text = crate::fetch::get_text(&beside_index("config.json")).await;
    let (config, warning) = parse_or_default(text.as_deref(), &crate::platform::origin());
    if let Some(warning) = warning {
        crate::platform::warn(&warning);
    }
    config
}

/// The configuration in context; the defaults for the page's origin when none
/// was provided (the browser tests mount pages without one).
pub fn use_config() -> AppConfig {
    use_context::<AppConfig>().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "https://login.example";

    #[test]
    fn a_full_config_is_read_with_trailing_slashes_and_api_v3_trimmed() {
        let c = parse_config(
            r#"{"serviceUrl":"https://www.kaltura.com/api_v3/","kmcUrl":"https://kmc.example/index.php/kmcng"}"#,
            ORIGIN,
        )
        .unwrap();
        assert_eq!(c.service_url, "https://www.kaltura.com");
        assert_eq!(
            c.kmc_url.as_deref(),
            Some("https://kmc.example/index.php/kmcng")
        );
    }

    #[test]
    fn the_handoff_goes_to_kmcs_persist_login_by_ks_route_under_its_base_url() {
        for base in [
            "https://kmc.example/index.php/kmcng",
            "https://kmc.example/index.php/kmcng/",
        ] {
            let c = parse_config(&format!(r#"{{"kmcUrl":"{base}"}}"#), ORIGIN).unwrap();
            assert_eq!(
                c.kmc_handoff_url().as_deref(),
                Some("https://kmc.example/index.php/kmcng/actions/persist-login-by-ks")
            );
        }
        assert_eq!(AppConfig::defaults(ORIGIN).kmc_handoff_url(), None);
    }

    #[test]
    fn the_ks_privileges_and_expiry_default_to_what_kmc_asks_for() {
        for c in [
            parse_config("{}", ORIGIN).unwrap(),
            parse_config(r#"{"privileges":" ","expiry":null}"#, ORIGIN).unwrap(),
            AppConfig::default(),
        ] {
            assert_eq!(c.privileges, "disableentitlement,appid:kmc");
            assert_eq!(c.expiry, 86_400);
        }
        let c = parse_config(
            r#"{"privileges":"disableentitlement","expiry":3600}"#,
            ORIGIN,
        )
        .unwrap();
        assert_eq!(
            (c.privileges.as_str(), c.expiry),
            ("disableentitlement", 3600)
        );
    }

    #[test]
    fn an_expiry_that_is_not_a_positive_whole_number_is_refused() {
        for text in [
            r#"{"expiry":0}"#,
            r#"{"expiry":-5}"#,
            r#"{"expiry":1.5}"#,
            r#"{"expiry":"86400"}"#,
            r#"{"privileges":7}"#,
        ] {
            assert!(
                matches!(parse_config(text, ORIGIN), Err(ConfigError::Invalid(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn the_default_language_is_read_and_an_unknown_one_refused() {
        assert_eq!(
            parse_config(r#"{"language":"de"}"#, ORIGIN)
                .unwrap()
                .language,
            Some(Lang::De)
        );
        assert_eq!(
            parse_config(r#"{"language":"pt-br"}"#, ORIGIN)
                .unwrap()
                .language,
            Some(Lang::PtBr)
        );
        assert_eq!(
            parse_config(r#"{"language":""}"#, ORIGIN).unwrap().language,
            None
        );
        assert_eq!(
            parse_config(r#"{"language":"xx"}"#, ORIGIN),
            Err(ConfigError::UnknownLanguage("xx".into()))
        );
    }

    #[test]
    fn a_missing_or_empty_service_url_defaults_to_the_page_origin() {
        assert_eq!(
            parse_config("{}", ORIGIN).unwrap(),
            AppConfig::defaults(ORIGIN)
        );
        let c = parse_config(r#"{"serviceUrl":"  ","kmcUrl":""}"#, ORIGIN).unwrap();
        assert_eq!(c.service_url, ORIGIN);
        assert_eq!(c.kmc_url, None);
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let c = parse_config(
            r#"{"serviceUrl":"http://127.0.0.1:8080","theme":"x"}"#,
            ORIGIN,
        )
        .unwrap();
        assert_eq!(c.service_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn invalid_json_wrong_types_and_non_http_urls_are_errors() {
        assert!(matches!(
            parse_config("not json", ORIGIN),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            parse_config(r#"{"serviceUrl":42}"#, ORIGIN),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            parse_config(r#"["https://kaltura.example"]"#, ORIGIN),
            Err(ConfigError::Invalid(_))
        ));
        assert_eq!(
            parse_config(r#"{"serviceUrl":"javascript:alert(1)"}"#, ORIGIN),
            Err(ConfigError::BadUrl("serviceUrl"))
        );
        assert_eq!(
            parse_config(r#"{"kmcUrl":"ftp://kmc"}"#, ORIGIN),
            Err(ConfigError::BadUrl("kmcUrl"))
        );
    }

    #[test]
    fn a_missing_or_invalid_file_falls_back_to_the_defaults_with_a_warning() {
        let (c, warning) = parse_or_default(None, ORIGIN);
        assert_eq!(c, AppConfig::defaults(ORIGIN));
        assert!(warning.is_some());
        let (c, warning) = parse_or_default(Some("[1,2"), ORIGIN);
        assert_eq!(c, AppConfig::defaults(ORIGIN));
        assert!(warning.unwrap().contains("config.json"));
        let (_, warning) = parse_or_default(Some("{}"), ORIGIN);
        assert_eq!(warning, None);
    }
}
