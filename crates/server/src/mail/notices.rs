//! Security notices: the mails that tell a login's owner that something
//! happened to it (its sign-in was blocked, an authenticator was set up or
//! replaced, its password was changed), when, from which address, and
//! where to get help. They never hold a link token, code, secret or
//! password: the way to act is the sign-in page's "Forgot password?".

use std::net::IpAddr;
use std::time::{Duration, UNIX_EPOCH};

use super::Mail;

/// When and from where the event happened, and where the owner gets help.
#[derive(Debug, Clone)]
pub struct Occasion {
    /// Unix seconds.
    pub at: i64,
    /// The client address as the server saw it, when known.
    pub from: Option<IpAddr>,
    /// The sign-in page (the server's public URL and `/login`).
    pub sign_in_url: String,
}

impl Occasion {
    /// The lines every notice carries: when, from where.
    fn facts(&self) -> String {
        let at = UNIX_EPOCH + Duration::from_secs(u64::try_from(self.at).unwrap_or(0));
        let from = match self.from {
            Some(ip) => ip.to_string(),
            None => "unknown".into(),
        };
        format!(
            "When: {}\nFrom the address: {from}\n",
            httpdate::fmt_http_date(at)
        )
    }

    /// What to do if it was not the owner, and where to get help.
    fn help(&self) -> String {
        format!(
            "If this was not you, reset your password: open the sign-in page,\n\n\
             {}\n\n\
             choose \"Forgot password?\" and follow the link mailed to you. For help, contact\n\
             your Kaltura administrator.\n",
            self.sign_in_url
        )
    }
}

/// A login was blocked after too many failed sign-in attempts
/// (`block_minutes` long). Sent once per block.
pub fn blocked_notice(to: &str, block_minutes: i64, o: &Occasion) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Your Kaltura sign-in was blocked after too many attempts".into(),
        body: format!(
            "Hello,\n\n\
             Your sign-in was blocked after too many attempts with a wrong password or code.\n\
             It unblocks by itself after {block_minutes} minutes.\n\n\
             {facts}\n\
             {help}",
            facts = o.facts(),
            help = o.help(),
        ),
    }
}

/// An authenticator app was set up for a login (its QR link was used).
pub fn authenticator_notice(to: &str, o: &Occasion) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "An authenticator app was set up for your Kaltura login".into(),
        body: format!(
            "Hello,\n\n\
             An authenticator app was set up for your Kaltura login: the QR code of your\n\
             sign-in key was shown, and any app that scanned it gives codes that sign you in.\n\n\
             {facts}\n\
             {help}",
            facts = o.facts(),
            help = o.help(),
        ),
    }
}

/// A password reset replaced the login's authenticator key (sent beside
/// the QR code the reset shows, so the owner hears of it even when someone
/// else used the link).
pub fn new_key_notice_mail(to: &str, o: &Occasion) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Your Kaltura password was changed and a new authenticator key was issued".into(),
        body: format!(
            "Hello,\n\n\
             Your Kaltura password was changed through a reset link, and a new authenticator\n\
             key was issued: codes from the key you had before no longer work. Every session\n\
             signed in before the change was ended.\n\n\
             {facts}\n\
             If this was not you, someone can read your email: secure your email account first.\n\
             {help}",
            facts = o.facts(),
            help = o.help(),
        ),
    }
}

/// The password was changed on the account page.
pub fn password_changed_notice(to: &str, o: &Occasion) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Your Kaltura password was changed".into(),
        body: format!(
            "Hello,\n\n\
             The password of your Kaltura login was changed on the account page. Every other\n\
             session of your login was ended.\n\n\
             {facts}\n\
             {help}",
            facts = o.facts(),
            help = o.help(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occasion() -> Occasion {
        Occasion {
            at: 1_800_000_010,
            from: Some("203.0.113.7".parse().unwrap()),
            sign_in_url: "https://login.example.com/login".into(),
        }
    }

    #[test]
    fn every_notice_says_when_from_where_and_where_to_get_help() {
        let o = occasion();
        for mail in [
            blocked_notice("a@b.c", 15, &o),
            authenticator_notice("a@b.c", &o),
            new_key_notice_mail("a@b.c", &o),
            password_changed_notice("a@b.c", &o),
        ] {
            let body = &mail.body;
            assert!(
                body.contains("When: Fri, 15 Jan 2027 08:00:10 GMT"),
                "{body}"
            );
            assert!(body.contains("From the address: 203.0.113.7"), "{body}");
            assert!(
                body.contains("\nhttps://login.example.com/login\n"),
                "{body}"
            );
            assert!(body.contains("Forgot password?"), "{body}");
        }
        assert!(blocked_notice("a@b.c", 15, &o).body.contains("15 minutes"));
    }

    #[test]
    fn an_unknown_address_is_said_to_be_unknown() {
        let o = Occasion {
            from: None,
            ..occasion()
        };
        let body = password_changed_notice("a@b.c", &o).body;
        assert!(body.contains("From the address: unknown"), "{body}");
    }
}
