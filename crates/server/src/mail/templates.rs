//! The messages the server sends. Each link's lifetime is written from the
//! constant that sets it.

use super::Mail;
use crate::auth::links::{QR_TTL, RESET_TTL};

/// A lifetime in seconds as a text reads it: "72 hours".
fn hours(seconds: i64) -> String {
    format!("{} hours", seconds / 3600)
}

/// The "two-factor authentication enabled" message with the QR link.
pub fn qr_link_mail(to: &str, account_names: &str, link: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Two-factor authentication is enabled for your Kaltura account".into(),
        body: format!(
            "Hello,\n\n\
             Two-factor authentication is now required to sign in to {account_names}.\n\
             Open this link to add your account to an authenticator app (any TOTP app works,\n\
             for example Google Authenticator):\n\n\
             {link}\n\n\
             The link works once and expires in {lifetime}.\n\n\
             If you did not expect this message, do not open the link; tell your administrator.\n",
            lifetime = hours(QR_TTL),
        ),
    }
}

/// The password reset message.
pub fn reset_mail(to: &str, link: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Reset your Kaltura password".into(),
        body: format!(
            "Hello,\n\n\
             Someone asked to reset the password of your Kaltura account. To choose a new\n\
             password, open this link:\n\n\
             {link}\n\n\
             The link works once and expires in {lifetime}. If your login uses an authenticator\n\
             app, you will be shown a new QR code to scan after choosing the password.\n\n\
             If you did not ask for this, ignore this message: your password stays as it is.\n",
            lifetime = hours(RESET_TTL),
        ),
    }
}

/// The notice to a login that already has an authenticator when an account
/// of it starts requiring codes: nothing to scan, so no link and no secret.
pub fn codes_required_mail(to: &str, account_name: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Kaltura now asks for your authenticator code".into(),
        body: format!(
            "Hello,\n\n\
             Two-factor authentication is now required to sign in to {account_name}.\n\
             Your login already has an authenticator app set up: from now on, after your\n\
             password, enter the 6-digit code it shows for Kaltura. There is nothing to scan.\n\n\
             If you no longer have that authenticator app, use \"Forgot password?\" on the\n\
             sign-in page: after choosing a new password you will be shown a new QR code.\n"
        ),
    }
}

/// The new-user message with a set-password link.
pub fn new_user_mail(to: &str, account_name: &str, link: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Your new Kaltura account".into(),
        body: format!(
            "Hello,\n\n\
             An account was created for you in {account_name}. To choose your password,\n\
             open this link:\n\n\
             {link}\n\n\
             The link works once and expires in {lifetime}.\n\n\
             If you did not expect this message, ignore it and tell your administrator.\n",
            lifetime = hours(RESET_TTL),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mail_states_the_lifetime_its_link_has() {
        let qr = qr_link_mail("a@b.c", "Media", "http://x/qr");
        assert!(
            qr.body.contains(&format!("expires in {}.", hours(QR_TTL))),
            "{}",
            qr.body
        );
        assert!(qr.body.contains("72 hours"));
        for mail in [
            reset_mail("a@b.c", "http://x/r"),
            new_user_mail("a@b.c", "Media", "http://x/r"),
        ] {
            assert!(
                mail.body
                    .contains(&format!("expires in {}", hours(RESET_TTL))),
                "{}",
                mail.body
            );
        }
        assert!(reset_mail("a@b.c", "http://x/r").body.contains("24 hours"));
    }
}
