//! The help desk's commands: who is in which account and who still has to
//! enroll (`user list`), lifting a block, the lost-phone path (a new
//! secret, every session ended, a new QR link), ending sessions and
//! removing a login or one of its memberships.
//!
//! Each is safe beside serving replicas: each change is one transaction
//! that takes the write lock before it reads (SQLite) or locks what it
//! changes (PostgreSQL), and ending sessions raises the login's session
//! epoch, so a session a sign-in is creating at that moment is ended too.

use anyhow::bail;
use serde::Serialize;

use crate::audit;
use crate::AppState;
use crate::auth::{lockout, sessions, totp};
use crate::store::{self, Login};

/// One account of a listed login.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ListedAccount {
    /// The account (partner) id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// `admin` or `user`.
    pub role: &'static str,
    /// The account requires authenticator codes.
    pub two_factor: bool,
}

/// One login as `user list` shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ListedLogin {
    /// The login's email.
    pub email: String,
    /// Its accounts, oldest membership first.
    pub partners: Vec<ListedAccount>,
    /// An authenticator is set up: the login has a secret and a code of it
    /// has been accepted.
    pub enrolled: bool,
    /// Any of its accounts requires authenticator codes.
    pub two_factor_required: bool,
    /// When a sign-in last gave it a session (UTC, RFC 3339).
    pub last_sign_in: Option<String>,
    /// Until when it is blocked (UTC, RFC 3339), while a block is in force.
    pub blocked_until: Option<String>,
}

/// Every login, or those in account `partner` (an unknown id is an error).
pub async fn list(state: &AppState, partner: Option<i64>) -> anyhow::Result<Vec<ListedLogin>> {
    if let Some(id) = partner {
        known_partner(state, id).await?;
    }
    let (logins, memberships) = store::list_logins(&state.pool, partner).await?;
    let now = state.now();
    Ok(logins
        .into_iter()
        .map(|l| {
            let partners: Vec<ListedAccount> = memberships
                .iter()
                .filter(|m| m.login_id == l.id)
                .map(|m| ListedAccount {
                    id: m.partner_id,
                    name: m.partner_name.clone(),
                    role: if m.is_admin { "admin" } else { "user" },
                    two_factor: m.two_factor,
                })
                .collect();
            ListedLogin {
                email: l.email,
                two_factor_required: partners.iter().any(|p| p.two_factor),
                partners,
                enrolled: l.enrolled,
                last_sign_in: l.last_signin_at.map(rfc3339),
                blocked_until: l
                    .blocked_until
                    .filter(|&t| lockout::is_blocked(Some(t), now))
                    .map(rfc3339),
            }
        })
        .collect())
}

/// The list as a table for a terminal: a header and one line per login.
pub fn table(logins: &[ListedLogin]) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let mut rows = vec![[
        "EMAIL".to_owned(),
        "ACCOUNTS".to_owned(),
        "ENROLLED".to_owned(),
        "2FA".to_owned(),
        "LAST SIGN-IN".to_owned(),
        "BLOCKED UNTIL".to_owned(),
    ]];
    for l in logins {
        let accounts: Vec<String> = l
            .partners
            .iter()
            .map(|p| {
                let tfa = if p.two_factor { ", 2FA" } else { "" };
                format!("{} {} ({}{tfa})", p.id, p.name, p.role)
            })
            .collect();
        rows.push([
            l.email.clone(),
            if accounts.is_empty() {
                "-".to_owned()
            } else {
                accounts.join("; ")
            },
            yes_no(l.enrolled).to_owned(),
            yes_no(l.two_factor_required).to_owned(),
            l.last_sign_in.clone().unwrap_or_else(|| "never".to_owned()),
            l.blocked_until.clone().unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `user unblock`: lifts the login's block and clears both its counters;
/// its id.
pub async fn unblock(state: &AppState, email: &str) -> anyhow::Result<i64> {
    let Some(id) = lockout::unblock(&state.pool, email).await? else {
        bail!("there is no login {email}");
    };
    audit::login_unblocked(id);
    Ok(id)
}

/// `user end-sessions`: ends every session of the login; how many were
/// live.
pub async fn end_sessions(state: &AppState, email: &str) -> anyhow::Result<u64> {
    let mut tx = store::begin_write(&state.pool).await?;
    let login = login_in(&mut tx, email).await?;
    let ended = sessions::end_all_of_login(&mut tx, login.id, state.now()).await?;
    tx.commit().await?;
    audit::sessions_revoked(login.id, ended);
    Ok(ended)
}

/// What `user reset-2fa` did.
#[derive(Debug)]
pub struct Reset {
    /// Sessions that were live and were ended.
    pub sessions_ended: u64,
    /// The QR link that was mailed.
    pub qr_link: String,
}

/// `user reset-2fa`, the lost-phone path: the login's secret is replaced
/// by a new one (the old authenticator's codes stop working) and every
/// session of the login ends, in one transaction; then a QR link for the
/// new secret is mailed, as when 2FA is turned on.
pub async fn reset_two_factor(state: &AppState, email: &str) -> anyhow::Result<Reset> {
    let mut tx = store::begin_write(&state.pool).await?;
    let login = login_in(&mut tx, email).await?;
    // The secret first: on PostgreSQL its write waits for a key rotation in
    // progress, and must not hold the login's row meanwhile.
    state
        .secrets
        .write_secret(&mut tx, login.id, &totp::new_secret())
        .await?;
    let sessions_ended = sessions::end_all_of_login(&mut tx, login.id, state.now()).await?;
    tx.commit().await?;
    audit::two_factor_reset(login.id);
    audit::sessions_revoked(login.id, sessions_ended);
    let accounts = store::partners_of(&state.pool, login.id).await?;
    let names: Vec<&str> = accounts
        .iter()
        .filter(|p| p.two_factor)
        .chain(accounts.iter().filter(|p| !p.two_factor))
        .map(|p| p.name.as_str())
        .collect();
    let names = if names.is_empty() {
        "your Kaltura account".to_owned()
    } else {
        names.join(", ")
    };
    let qr_link = super::send_qr_link(state, login.id, &login.email, &names).await?;
    Ok(Reset {
        sessions_ended,
        qr_link,
    })
}

/// What `user remove` removed.
#[derive(Debug, PartialEq, Eq)]
pub enum Removed {
    /// The whole login, with its memberships, sessions and links.
    Login,
    /// One membership; `last` when the login is now in no account (it is
    /// kept: it can sign in nowhere until it is added to one again, or
    /// removed).
    Membership {
        /// The login has no account left.
        last: bool,
    },
}

/// `user remove`: without `partner`, the login and everything of it; with
/// it, only its membership in that account and its sessions there (a
/// session is live only while its login is a user of its account, so one a
/// sign-in was creating in that account at that moment ends too); its
/// sessions in other accounts go on.
pub async fn remove(
    state: &AppState,
    email: &str,
    partner: Option<i64>,
) -> anyhow::Result<Removed> {
    let Some(partner) = partner else {
        let Some(id) = store::remove_login(&state.pool, email).await? else {
            bail!("there is no login {email}");
        };
        audit::login_removed(id, None);
        return Ok(Removed::Login);
    };
    known_partner(state, partner).await?;
    let mut tx = store::begin_write(&state.pool).await?;
    let login = login_in(&mut tx, email).await?;
    let left = store::remove_user(&mut tx, login.id, partner).await?;
    let Some(left) = left else {
        bail!("{email} is not a user of account {partner}");
    };
    let ended = sessions::end_in_partner(&mut tx, login.id, partner, state.now()).await?;
    tx.commit().await?;
    audit::login_removed(login.id, Some(partner));
    audit::sessions_revoked(login.id, ended);
    Ok(Removed::Membership { last: left == 0 })
}

/// The login with this email, read inside the command's transaction.
async fn login_in(tx: &mut store::Conn, email: &str) -> anyhow::Result<Login> {
    match store::login_by_email_on(tx, email).await? {
        Some(login) => Ok(login),
        None => bail!("there is no login {email}"),
    }
}

/// An error unless account `id` exists.
async fn known_partner(state: &AppState, id: i64) -> anyhow::Result<()> {
    if store::partner(&state.pool, id).await?.is_none() {
        bail!("there is no account with id {id}");
    }
    Ok(())
}

/// Unix seconds as UTC RFC 3339 (`2026-12-04T21:46:01Z`).
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Days since 1970-01-01 to a civil date (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn unix_seconds_read_as_utc_rfc3339_across_leap_days_and_eras() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_800_000_010), "2027-01-15T08:00:10Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
