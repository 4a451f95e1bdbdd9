//! The password rules as the user sees them, and the server's refusals in
//! plain words.
//!
//! Serves the set-new-password page: the rules are listed up front and ticked
//! off while the user types (length, not the email, the two fields match), so
//! most refusals never reach the server. What only the server can know (its
//! common-password list, the last passwords used, its own structure rules) is
//! explained next to the field by [`refusal_message`], the one place for
//! those refusal codes and their messages: the password changes of the
//! sign-in card and the account page read them here too
//! ([`crate::password_change`]).
//!
//! The texts promise nothing about the server's own settings: a real Kaltura's
//! default rules are stricter (8–14 characters, with a digit, a lower-case
//! letter and a symbol) and each deployment may change them. When the server
//! states its rules (`args.RULES`), [`server_rules`] is what the page shows.

use kaltura_api::codes;

use crate::i18n::Text;

/// The shortest password the server accepts, in characters (NIST 800-63B).
pub const MIN_LENGTH: usize = 8;

/// Which of the rules the typed passwords meet right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RuleCheck {
    /// At least [`MIN_LENGTH`] characters.
    pub long_enough: bool,
    /// Not the account's email; `None` when the page does not know the
    /// email (the server still checks it).
    pub not_email: Option<bool>,
    /// The confirmation is filled in and equal to the password.
    pub confirmed: bool,
}

impl RuleCheck {
    /// Whether every rule holds, so submitting is worth a server call.
    pub fn all_met(&self) -> bool {
        self.long_enough && self.not_email != Some(false) && self.confirmed
    }
}

/// Checks `password` and its `confirm`ation against the rules; `email` is the
/// account's email when the page knows it.
pub fn check(password: &str, confirm: &str, email: Option<&str>) -> RuleCheck {
    RuleCheck {
        // Characters, not bytes: "ééééé" is five characters to the user.
        long_enough: password.chars().count() >= MIN_LENGTH,
        not_email: email
            .map(str::trim)
            .filter(|email| !email.is_empty())
            .map(|email| !password.is_empty() && !password.trim().eq_ignore_ascii_case(email)),
        confirmed: !confirm.is_empty() && password == confirm,
    }
}

/// The rule texts, in the order the page lists them.
pub fn rule_long_enough() -> Text {
    Text::Count("rules.long-enough", MIN_LENGTH as u64, Vec::new())
}
/// See [`rule_long_enough`].
pub const RULE_NOT_EMAIL: &str = "rules.not-email";
/// See [`rule_long_enough`].
pub const RULE_CONFIRMED: &str = "rules.confirmed";
/// The key of the note under the rules: what only the server checks.
pub const RULES_SERVER_NOTE: &str = "rules.server-note";

/// The server's own statement of its rules (`args.RULES` of
/// `PASSWORD_STRUCTURE_INVALID`), ready to show with its line breaks, or
/// `None` when it sent none. Kaltura writes its rules one per line; from
/// `adminUser.updatePassword` the breaks arrive as a literal backslash and
/// `n`, which are turned into real line breaks here.
pub fn server_rules(rules: Option<&str>) -> Option<String> {
    let text = rules?.replace("\\n", "\n").replace("\r\n", "\n");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The plain-words explanation of a server refusal of the new password, or
/// `None` when `code` is not about the password itself.
///
/// `rules` is `args.RULES` of `PASSWORD_STRUCTURE_INVALID`, the server's own
/// wording of its rules, which may be stricter than ours (a real Kaltura
/// still limits length and demands character classes).
pub fn refusal_message(code: &str, rules: Option<&str>) -> Option<Text> {
    match code {
        codes::PASSWORD_STRUCTURE_INVALID => Some(match server_rules(rules) {
            Some(rules) => Text::with("rules.server-refused-rules", "rules", rules),
            None => Text::key("rules.server-refused"),
        }),
        codes::COMMON_PASSWORD => Some(Text::key("rules.common")),
        codes::PASSWORD_ALREADY_USED => Some(Text::key("rules.recently-used")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_characters_are_long_enough_and_seven_are_not() {
        assert!(!check("1234567", "", None).long_enough);
        assert!(check("12345678", "", None).long_enough);
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(check("éééééééé", "", None).long_enough);
        assert!(!check("ééééééé", "", None).long_enough);
    }

    #[test]
    fn a_long_passphrase_is_long_enough() {
        let phrase = "correct horse battery staple ".repeat(8);
        assert!(check(&phrase, &phrase, None).all_met());
    }

    #[test]
    fn the_email_itself_is_refused_whatever_its_case() {
        let email = Some("Ada@Example.com");
        assert_eq!(check("ada@example.com", "", email).not_email, Some(false));
        assert_eq!(check(" ADA@EXAMPLE.COM ", "", email).not_email, Some(false));
        assert_eq!(check("ada@example.com!", "", email).not_email, Some(true));
    }

    #[test]
    fn without_a_known_email_the_email_rule_is_left_to_the_server() {
        assert_eq!(check("anything", "", None).not_email, None);
        assert_eq!(check("anything", "", Some("  ")).not_email, None);
        assert!(check("anything", "anything", None).all_met());
    }

    #[test]
    fn the_confirmation_must_be_filled_and_equal() {
        assert!(!check("long enough", "", None).confirmed);
        assert!(!check("long enough", "long enougH", None).confirmed);
        assert!(check("long enough", "long enough", None).confirmed);
    }

    #[test]
    fn all_rules_must_hold_to_submit() {
        assert!(!check("short", "short", None).all_met());
        assert!(!check("a@b.example", "a@b.example", Some("a@b.example")).all_met());
        assert!(!check("long enough", "different", None).all_met());
        assert!(check("long enough", "long enough", Some("a@b.example")).all_met());
    }

    #[test]
    fn a_structure_refusal_quotes_the_servers_rules() {
        let message = refusal_message(
            codes::PASSWORD_STRUCTURE_INVALID,
            Some("at least 8 characters"),
        )
        .unwrap()
        .to_string();
        assert!(message.contains("at least 8 characters"), "{message}");
    }

    #[test]
    fn kalturas_rules_keep_their_line_breaks_whether_real_or_a_literal_backslash_n() {
        let expected = "- Must be 8-14 characters long.\n- Must contain at least one digit (0-9).";
        for sent in [
            "- Must be 8-14 characters long.\n- Must contain at least one digit (0-9).",
            "- Must be 8-14 characters long.\\n- Must contain at least one digit (0-9).",
            "- Must be 8-14 characters long.\r\n- Must contain at least one digit (0-9).\n",
        ] {
            assert_eq!(
                server_rules(Some(sent)).as_deref(),
                Some(expected),
                "{sent:?}"
            );
        }
        let message = refusal_message(codes::PASSWORD_STRUCTURE_INVALID, Some("a\\nb"))
            .unwrap()
            .to_string();
        assert!(message.ends_with("Its rules:\na\nb"), "{message:?}");
    }

    #[test]
    fn empty_server_rules_count_as_none() {
        assert_eq!(server_rules(None), None);
        assert_eq!(server_rules(Some(" \\n ")), None);
    }

    #[test]
    fn the_listed_rules_promise_nothing_about_the_servers_settings() {
        assert!(!rule_long_enough().to_string().contains("long phrase"));
        assert!(
            !crate::i18n::tr(RULES_SERVER_NOTE).contains("minutes"),
            "no lockout duration is promised"
        );
    }

    #[test]
    fn a_structure_refusal_without_rules_still_explains() {
        let message = refusal_message(codes::PASSWORD_STRUCTURE_INVALID, None)
            .unwrap()
            .to_string();
        assert!(message.contains("rules"), "{message}");
    }

    #[test]
    fn common_and_reused_passwords_are_explained_in_plain_words() {
        assert!(
            refusal_message(codes::COMMON_PASSWORD, None)
                .unwrap()
                .to_string()
                .contains("too common")
        );
        assert!(
            refusal_message(codes::PASSWORD_ALREADY_USED, None)
                .unwrap()
                .to_string()
                .contains("used this password")
        );
    }

    #[test]
    fn other_codes_are_not_password_refusals() {
        assert_eq!(refusal_message(codes::INVALID_HASH, None), None);
        assert_eq!(refusal_message("SOMETHING_ELSE", Some("x")), None);
    }
}
