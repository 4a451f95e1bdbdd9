//! What the account page shows and decides, as plain functions with native
//! tests (in the page's module): the loaded [`AccountData`], the accounts to
//! switch to, their labels, and what a switch's outcome means.

use kaltura_api::codes;
use kaltura_api::responses::{KalturaPartner, KalturaUser};

use crate::api::{ApiError, SignedInClient};
use crate::explain::{UNREACHABLE, login_error_message};
use crate::i18n::Text;

/// What the page shows, loaded with the session's KS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountData {
    /// The signed-in user (`user.get`).
    pub user: KalturaUser,
    /// The current account (`partner.getInfo`, else what the user and the
    /// account list say about it).
    pub partner: KalturaPartner,
    /// Every account of the login (`partner.listPartnersForUser`); empty when
    /// the server would not list them.
    pub partners: Vec<KalturaPartner>,
    /// The server refused some account details to this user (not an account
    /// admin): the page says why they are missing.
    pub limited: bool,
}

impl AccountData {
    /// The login's email: the user's email, else its id (which is the email
    /// on this project's server and on KMC logins).
    pub fn email(&self) -> String {
        self.user
            .email
            .clone()
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(|| self.user.id.clone())
    }
}

/// The accounts to offer for switching: all but the current one.
pub fn other_accounts(partners: &[KalturaPartner], current: i64) -> Vec<KalturaPartner> {
    partners
        .iter()
        .filter(|p| p.id != current)
        .cloned()
        .collect()
}

/// "{name} (ID {id})", the way an account is named everywhere on the page.
pub fn account_label(partner: &KalturaPartner) -> Text {
    if partner.name.trim().is_empty() {
        Text::with("account.label-unnamed", "id", partner.id.to_string())
    } else {
        Text::Key(
            "account.label",
            vec![
                ("name", partner.name.clone()),
                ("id", partner.id.to_string()),
            ],
        )
    }
}

/// What a switch attempt leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchOutcome {
    /// Signed into the other account; the old KS is to be ended.
    Switched,
    /// The target account needs a sign-in with the authenticator code.
    ReloginRequired,
    /// The session is over: back to sign-in.
    SessionEnded,
    /// Something else went wrong; show the message.
    Failed(Text),
}

/// Classifies the answer of `user.loginByKs`.
pub fn switch_outcome(result: &Result<(), ApiError>) -> SwitchOutcome {
    match result {
        Ok(()) => SwitchOutcome::Switched,
        Err(e) if e.is(codes::NEW_LOGIN_REQUIRED) => SwitchOutcome::ReloginRequired,
        Err(e) if e.is(codes::INVALID_KS) => SwitchOutcome::SessionEnded,
        Err(e) if e.is_unreachable() => SwitchOutcome::Failed(Text::key(UNREACHABLE)),
        Err(e) => SwitchOutcome::Failed(login_error_message(e)),
    }
}

/// The notice shown when switching needs a fresh sign-in.
pub fn relogin_message(partner: &KalturaPartner) -> Text {
    Text::with(
        "account.relogin",
        "account",
        account_label(partner).render(),
    )
}

/// Puts the three replies of a page load together. `INVALID_KS` from any of
/// them wins, so an ended session is always recognised; then the user is
/// required; a refusal of the account details or of the account list (a user
/// who is not an account admin gets `SERVICE_FORBIDDEN`) only limits what is
/// shown: the account is then named by its id from `user.get`, or by the
/// list's entry for it. A server that cannot be reached still fails the load,
/// so the page offers a retry.
pub fn assemble_account(
    user: Result<KalturaUser, ApiError>,
    partner: Result<KalturaPartner, ApiError>,
    partners: Result<Vec<KalturaPartner>, ApiError>,
) -> Result<AccountData, ApiError> {
    let errors = [
        user.as_ref().err(),
        partner.as_ref().err(),
        partners.as_ref().err(),
    ];
    if let Some(e) = errors.iter().flatten().find(|e| e.is(codes::INVALID_KS)) {
        return Err((*e).clone());
    }
    if let Some(e) = errors.iter().flatten().find(|e| e.is_unreachable()) {
        return Err((*e).clone());
    }
    let user = user?;
    let limited = partner.is_err() || partners.is_err();
    let partners = partners.unwrap_or_default();
    let partner = partner.unwrap_or_else(|_| {
        partners
            .iter()
            .find(|p| p.id == user.partner_id)
            .cloned()
            .unwrap_or_else(|| KalturaPartner::new(user.partner_id, String::new()))
    });
    Ok(AccountData {
        user,
        partner,
        partners,
        limited,
    })
}

/// Loads user, account and account list together, then [`assemble_account`].
pub(super) async fn load_account(client: SignedInClient) -> Result<AccountData, ApiError> {
    let (user, partner, partners) = futures::join!(
        client.get_user(),
        client.get_partner_info(),
        client.list_partners()
    );
    assemble_account(user, partner, partners)
}
