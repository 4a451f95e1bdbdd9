//! Operator commands, shared by the CLI and `serve --demo`: accounts, users,
//! turning 2FA on and off, expiring passwords, and the demo data; the help
//! desk's commands ([`helpdesk`]) and backups ([`backup`]).

pub mod backup;
pub mod helpdesk;

use anyhow::{Context as _, bail};
use lettre::Address;

use crate::AppState;
use crate::auth::enrol::{otpauth_uri, secret_of};
use crate::auth::links::{self, Kind};
use crate::auth::{passwords, sessions};
use crate::mail;
use crate::store;

/// Creates an account and returns its id (ids start at 100).
pub async fn add_partner(state: &AppState, name: &str, two_factor: bool) -> anyhow::Result<i64> {
    let name = name.trim();
    if name.is_empty() {
        bail!("the account name is empty");
    }
    Ok(store::add_partner(&state.pool, name, two_factor, state.now()).await?)
}

/// What `add_user` did, for the operator.
#[derive(Debug, Default)]
pub struct AddedUser {
    /// The login's id.
    pub login_id: i64,
    /// The login existed already (the user joined it).
    pub joined_existing_login: bool,
    /// The link that was emailed, if any.
    pub emailed_link: Option<String>,
}

/// A new user in an account (the same email on a second account joins the
/// existing login: same password, same secret).
///
/// - With a password on a new login: the password is set (policy applies).
///   If the account requires 2FA and the login has no secret yet, a secret
///   is created and a QR link is emailed.
/// - Without a password, on a login that has none: a set-password link is
///   emailed.
pub async fn add_user(
    state: &AppState,
    partner_id: i64,
    email: &str,
    is_admin: bool,
    first_name: Option<&str>,
    last_name: Option<&str>,
    password: Option<&str>,
) -> anyhow::Result<AddedUser> {
    let email = email.trim();
    email
        .parse::<Address>()
        .map_err(|_| anyhow::anyhow!("{email:?} is not a valid email address"))?;
    let partner = store::partner(&state.pool, partner_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no account with id {partner_id}"))?;
    let now = state.now();
    let existing = store::login_by_email(&state.pool, email).await?;
    let joined = existing.is_some();
    let login_id = match &existing {
        Some(l) => l.id,
        None => store::add_login(&state.pool, email, now).await?,
    };
    let user = store::NewUser {
        login_id,
        partner_id,
        is_admin,
        first_name: first_name.map(str::trim).filter(|s| !s.is_empty()),
        last_name: last_name.map(str::trim).filter(|s| !s.is_empty()),
    };
    if !store::add_user(&state.pool, &user, now).await? {
        bail!("{email} is already a user of account {partner_id}");
    }
    let login = store::login_by_id(&state.pool, login_id)
        .await?
        .context("the login vanished")?;
    let mut out = AddedUser {
        login_id,
        joined_existing_login: joined,
        emailed_link: None,
    };
    match (password, login.password_hash.is_some()) {
        (Some(pw), false) => {
            passwords::check_policy(pw, email).map_err(|e| {
                let body = e.to_body();
                anyhow::anyhow!(
                    "the password is refused ({}): {}",
                    body.code,
                    body.arg("RULES").unwrap_or(&body.message)
                )
            })?;
            let hash = state.hasher.hash(pw).await?;
            store::set_password(&state.pool, login_id, &hash, now, None).await?;
            if partner.two_factor && login.totp_secret.is_none() {
                let login = store::login_by_id(&state.pool, login_id)
                    .await?
                    .context("the login vanished")?;
                secret_of(state, &login).await?;
                out.emailed_link = Some(send_qr_link(state, login_id, email, &partner.name).await?);
            }
        }
        (None, false) => {
            let token = links::issue(&state.pool, login_id, Kind::Reset, now).await?;
            let link = state.link_url(Kind::Reset, &token);
            state
                .mailer
                .send(
                    &state.config.mail_from,
                    mail::new_user_mail(email, &partner.name, &link),
                )
                .await?;
            out.emailed_link = Some(link);
        }
        // The login already has a password: the user shares it.
        (_, true) => {
            if partner.two_factor && login.totp_secret.is_none() {
                secret_of(state, &login).await?;
                out.emailed_link = Some(send_qr_link(state, login_id, email, &partner.name).await?);
            }
        }
    }
    Ok(out)
}

/// Issues a QR link for the login and mails it; the link.
pub(crate) async fn send_qr_link(
    state: &AppState,
    login_id: i64,
    email: &str,
    account: &str,
) -> anyhow::Result<String> {
    let token = links::issue(&state.pool, login_id, Kind::Qr, state.now()).await?;
    let link = state.link_url(Kind::Qr, &token);
    state
        .mailer
        .send(
            &state.config.mail_from,
            mail::qr_link_mail(email, account, &link),
        )
        .await?;
    Ok(link)
}

/// What turning 2FA on did, for the operator.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TwoFactorOn {
    /// Logins without an authenticator, mailed a QR link.
    pub qr_links: usize,
    /// Logins that already had one, mailed a notice (no link, no secret).
    pub notices: usize,
    /// Sessions in the account that were not proven with a code, ended.
    pub sessions_ended: u64,
}

/// Turns 2FA on or off for an account.
///
/// `on` ends the account's sessions that were not proven with a code, and
/// mails every user of the account that has a password what they need: a
/// QR link (and a new secret) to a login that has no authenticator yet, a
/// notice that codes are now required to one that has (its secret is not
/// touched and never mailed). Logins still waiting for their set-password
/// link get the QR code when they set it.
pub async fn set_two_factor(
    state: &AppState,
    partner_id: i64,
    on: bool,
) -> anyhow::Result<TwoFactorOn> {
    let partner = store::partner(&state.pool, partner_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no account with id {partner_id}"))?;
    store::set_two_factor(&state.pool, partner_id, on).await?;
    crate::audit::two_factor(partner_id, on);
    let mut out = TwoFactorOn::default();
    if !on {
        return Ok(out);
    }
    out.sessions_ended =
        sessions::revoke_unproven_in_partner(&state.pool, partner_id, state.now()).await?;
    let logins = store::logins_with_password_in(&state.pool, partner_id).await?;
    for login_id in logins {
        let login = store::login_by_id(&state.pool, login_id)
            .await?
            .context("the login vanished")?;
        if login.totp_secret.is_some() {
            state
                .mailer
                .send(
                    &state.config.mail_from,
                    mail::codes_required_mail(&login.email, &partner.name),
                )
                .await?;
            out.notices += 1;
        } else {
            secret_of(state, &login).await?;
            send_qr_link(state, login_id, &login.email, &partner.name).await?;
            out.qr_links += 1;
        }
    }
    Ok(out)
}

/// Marks a login's password as expired: its next sign-in answers
/// `PASSWORD_EXPIRED`.
pub async fn expire_password(state: &AppState, email: &str) -> anyhow::Result<()> {
    if !store::expire_password(&state.pool, email).await? {
        bail!("there is no login {email}");
    }
    Ok(())
}

/// The demo login's credentials, printed once when the demo is seeded.
pub struct Demo {
    /// The login email.
    pub email: String,
    /// Its random password.
    pub password: String,
    /// The QR link (also in the outbox).
    pub qr_link: String,
}

/// The demo login's email.
pub const DEMO_EMAIL: &str = "demo@example.com";

/// Seeds the demo on an empty database: "Demo Media" (2FA) and "Demo Sandbox"
/// (password only), one admin login in both.
///
/// On a later run whose database holds the demo login, the demo login gets
/// a fresh random password and a fresh QR link (its secret is kept, so an
/// authenticator that already scanned it keeps working): the operator always
/// sees working credentials, and no password is ever stored in the clear.
/// `None` when the database holds other data but no demo login.
pub async fn seed_demo(state: &AppState) -> anyhow::Result<Option<Demo>> {
    if store::has_partners(&state.pool).await? {
        let Some(login) = store::login_by_email(&state.pool, DEMO_EMAIL).await? else {
            return Ok(None);
        };
        let password = demo_password();
        let hash = state.hasher.hash(&password).await?;
        store::set_password(&state.pool, login.id, &hash, state.now(), None).await?;
        secret_of(state, &login)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let qr_link = send_qr_link(state, login.id, DEMO_EMAIL, "Demo Media").await?;
        return Ok(Some(Demo {
            email: DEMO_EMAIL.into(),
            password,
            qr_link,
        }));
    }
    let media = add_partner(state, "Demo Media", true).await?;
    let sandbox = add_partner(state, "Demo Sandbox", false).await?;
    let email = DEMO_EMAIL;
    let password = demo_password();
    let added = add_user(
        state,
        media,
        email,
        true,
        Some("Demo"),
        Some("Admin"),
        Some(&password),
    )
    .await?;
    add_user(
        state,
        sandbox,
        email,
        true,
        Some("Demo"),
        Some("Admin"),
        None,
    )
    .await?;
    let qr_link = added
        .emailed_link
        .context("the demo QR link was not issued")?;
    Ok(Some(Demo {
        email: email.into(),
        password,
        qr_link,
    }))
}

/// A random password that passes the policy: 16 URL-safe characters.
fn demo_password() -> String {
    crate::auth::random_token().chars().take(16).collect()
}

/// The otpauth URI of a login (tests and diagnostics; not exposed over HTTP).
pub async fn otpauth_of(state: &AppState, email: &str) -> anyhow::Result<String> {
    let login = store::login_by_email(&state.pool, email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no login {email}"))?;
    let secret = secret_of(state, &login)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(otpauth_uri(state, &login.email, &secret))
}
