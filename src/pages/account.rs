//! The signed-in page (`/account`).
//!
//! Shows who is signed in and into which account, lists the login's other
//! accounts to switch to (`user.loginByKs`), changes the password, opens KMC
//! when configured, and logs out. Any `INVALID_KS` (an expired or ended
//! session) sends the user to `/login` with "Your session has ended, please
//! sign in again"; the route's guard ([`crate::routes`]) sends a
//! signed-out visit to `/login` and back.
//!
//! A user who is not an account admin may not call `partner.getInfo` (Kaltura
//! answers `SERVICE_FORBIDDEN`), and perhaps not the account list either: the
//! page then shows what it knows (the user, the account id from `user.get`,
//! the name if the list has it) and switching, hand-off and logout go on
//! working.
//!
//! Decisions are plain functions with native tests: [`switch_outcome`],
//! [`other_accounts`], [`assemble_account`]; the parts of the page are
//! [`summary`] (who and where), [`switch_list`] (the other accounts) and
//! [`change_password`].

mod change_password;
mod summary;
mod switch_list;

use leptos::prelude::*;

use kaltura_api::responses::KalturaPartner;
use kaltura_api::{KalturaApiError, codes};

use crate::api::{ApiError, use_api};
use crate::components::alert::Alert;
use crate::components::focus::{Heading, focus_soon};
use crate::i18n::{Text, t, use_title};
use crate::routes::{self, use_navigator};
use crate::session::{self, SESSION_ENDED, use_login_prefill};
mod data;

pub use data::*;

/// The account page: who is signed in, the current account, switching,
/// change password, "Open KMC" and "Log out". The route's guard opens it only
/// with a session.
#[component]
pub fn AccountPage() -> impl IntoView {
    let api = use_api();
    let navigate = use_navigator();
    let prefill = use_login_prefill();
    use_title("page.account");
    // The route's guard opens this page only with a session.
    let client = RwSignal::new(session::signed_in_client(&api));
    let alert = RwSignal::new(None::<Text>);
    let status = RwSignal::new(None::<Text>);
    let relogin = RwSignal::new(None::<KalturaPartner>);
    // After a switch the pressed button is gone: the focus goes to what
    // happened, the new account's name or the error.

    // Leaves for the sign-in card; `notice` explains why, `target` is the
    // account the next sign-in should go to.
    let to_login = move |notice: Option<Text>, email: Option<String>, target: Option<i64>| {
        session::clear_session();
        prefill.update(|p| {
            p.notice = notice;
            p.email = email;
            p.partner_id = target;
            p.return_to = None;
        });
        navigate.replace(routes::LOGIN);
    };

    let data = LocalResource::new(move || {
        let client = client.get();
        async move {
            match client {
                Some(client) => load_account(client).await,
                None => Err(ApiError::Api(KalturaApiError::new(codes::INVALID_KS, ""))),
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Err(e)) = data.get()
            && e.is(codes::INVALID_KS)
        {
            to_login(Some(Text::key(SESSION_ENDED)), None, None);
        }
    });

    let switch_api = api.clone();
    let switch = Action::new_local(move |target: &KalturaPartner| {
        let (api, target) = (switch_api.clone(), target.clone());
        async move {
            let Some(old) = client.get_untracked() else {
                return;
            };
            alert.set(None);
            status.set(None);
            relogin.set(None);
            let result = old.login_by_ks(target.id).await;
            match result {
                Ok(new) => {
                    session::store_session(&new);
                    // The old session is ended so it cannot be reused; if the
                    // server cannot be reached it expires on its own.
                    let _ = old.end_session().await;
                    let label = account_label(&target).render();
                    status.set(Some(Text::with("account.switched", "account", label)));
                    focus_soon("account-status");
                    client.set(Some(api.signed_in(new)));
                }
                Err(e) => match switch_outcome(&Err(e)) {
                    SwitchOutcome::ReloginRequired => relogin.set(Some(target)),
                    SwitchOutcome::SessionEnded => {
                        to_login(Some(Text::key(SESSION_ENDED)), None, None)
                    }
                    SwitchOutcome::Failed(message) => {
                        alert.set(Some(message));
                        focus_soon("account-alert");
                    }
                    SwitchOutcome::Switched => {}
                },
            }
        }
    });

    // Leaves for sign-in: `Some` to sign into that account again (email,
    // target), `None` to log out. Either way the session ends here, locally
    // whatever the server says: a user who asks to leave must be signed out.
    let leave = Action::new_local(move |again: &Option<(String, i64)>| {
        let again = again.clone();
        async move {
            if let Some(old) = client.get_untracked() {
                let _ = old.end_session().await;
            }
            let (email, target) = again.unzip();
            to_login(None, email, target);
        }
    });

    let busy = Signal::derive(move || switch.pending().get() || leave.pending().get());
    let email = Signal::derive(move || data.get().and_then(Result::ok).map(|d| d.email()));

    view! {
        <section class="card wide" data-testid="account-card">
            <Heading>{t("account.title")}</Heading>
            <Alert message=alert test_id="account-alert" />
            <Alert message=status test_id="account-status" polite=true />
            {move || match data.get() {
                None => view! { <p class="muted">{t("account.loading")}</p> }.into_any(),
                Some(Ok(d)) => {
                    let others = other_accounts(&d.partners, d.partner.id);
                    let email = d.email();
                    view! {
                        <summary::AccountSummary data=d client=client />
                        <switch_list::ReloginNotice target=relogin email=email busy=busy leave=leave />
                        <switch_list::SwitchList others=others busy=busy switch=switch />
                    }
                        .into_any()
                }
                Some(Err(e)) => {
                    let retry = Callback::new(move |()| data.refetch());
                    view! { <summary::LoadError error=e retry=retry /> }.into_any()
                }
            }}
            <hr />
            <change_password::ChangePasswordForm email=email client=client />
            <hr />
            <button
                type="button"
                class="secondary"
                data-testid="logout"
                disabled=move || busy.get()
                on:click=move |_| drop(leave.dispatch(None))
            >
                {t("account.log-out")}
            </button>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::UNREACHABLE;
    use kaltura_api::KalturaApiError;
    use kaltura_api::responses::KalturaUser;

    fn api(code: &str) -> ApiError {
        ApiError::Api(KalturaApiError::new(code, format!("server says {code}")))
    }

    fn partner(id: i64, name: &str) -> KalturaPartner {
        KalturaPartner::new(id, name.to_owned())
    }

    #[test]
    fn accounts_are_named_with_their_id() {
        assert_eq!(
            account_label(&partner(101, "Demo Media")).to_string(),
            "Demo Media (ID 101)"
        );
        assert_eq!(account_label(&partner(7, " ")).to_string(), "Account 7");
    }

    #[test]
    fn the_current_account_is_not_offered_for_switching() {
        let all = [partner(100, "A"), partner(101, "B"), partner(102, "C")];
        let others = other_accounts(&all, 101);
        assert_eq!(
            others.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![100, 102]
        );
    }

    #[test]
    fn switching_outcomes_are_told_apart() {
        assert_eq!(switch_outcome(&Ok(())), SwitchOutcome::Switched);
        assert_eq!(
            switch_outcome(&Err(api(codes::NEW_LOGIN_REQUIRED))),
            SwitchOutcome::ReloginRequired
        );
        assert_eq!(
            switch_outcome(&Err(api(codes::INVALID_KS))),
            SwitchOutcome::SessionEnded
        );
        assert_eq!(
            switch_outcome(&Err(ApiError::Timeout)),
            SwitchOutcome::Failed(Text::key(UNREACHABLE))
        );
    }

    #[test]
    fn the_relogin_notice_names_the_account() {
        assert_eq!(
            relogin_message(&partner(101, "Demo Media")).to_string(),
            "Demo Media (ID 101) needs you to sign in with your authenticator code."
        );
    }

    #[test]
    fn the_email_falls_back_to_the_user_id() {
        let user: KalturaUser =
            serde_json::from_str(r#"{"id":"ada@example.com","partnerId":101}"#).unwrap();
        let d = AccountData {
            user,
            partner: partner(101, "A"),
            partners: vec![],
            limited: false,
        };
        assert_eq!(d.email(), "ada@example.com");
    }

    fn user(partner_id: i64) -> KalturaUser {
        serde_json::from_str(&format!(
            r#"{{"id":"viewer@example.com","partnerId":{partner_id},"isAdmin":false}}"#
        ))
        .unwrap()
    }

    #[test]
    fn a_forbidden_account_info_is_named_from_the_list_or_by_its_id() {
        let d = assemble_account(
            Ok(user(102)),
            Err(api(codes::SERVICE_FORBIDDEN)),
            Ok(vec![partner(101, "A"), partner(102, "Studio")]),
        )
        .unwrap();
        assert_eq!(account_label(&d.partner).to_string(), "Studio (ID 102)");
        assert!(d.limited);
        assert_eq!(
            other_accounts(&d.partners, d.partner.id),
            [partner(101, "A")]
        );
        let d = assemble_account(
            Ok(user(102)),
            Err(api(codes::SERVICE_FORBIDDEN)),
            Err(api(codes::SERVICE_FORBIDDEN)),
        )
        .unwrap();
        assert_eq!(account_label(&d.partner).to_string(), "Account 102");
        assert!(d.partners.is_empty() && d.limited);
    }

    #[test]
    fn an_ended_session_or_an_unreachable_server_still_fails_the_load() {
        let e = assemble_account(
            Ok(user(102)),
            Err(api(codes::SERVICE_FORBIDDEN)),
            Err(api(codes::INVALID_KS)),
        )
        .unwrap_err();
        assert!(e.is(codes::INVALID_KS));
        let e = assemble_account(Ok(user(102)), Err(ApiError::Timeout), Ok(vec![])).unwrap_err();
        assert_eq!(e, ApiError::Timeout);
        let e = assemble_account(
            Err(api(codes::SERVICE_FORBIDDEN)),
            Ok(partner(102, "S")),
            Ok(vec![]),
        )
        .unwrap_err();
        assert!(e.is(codes::SERVICE_FORBIDDEN));
    }

    #[test]
    fn full_replies_are_not_marked_limited() {
        let d = assemble_account(Ok(user(101)), Ok(partner(101, "A")), Ok(vec![])).unwrap();
        assert!(!d.limited);
        assert_eq!(d.partner, partner(101, "A"));
    }
}
