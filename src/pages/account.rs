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
//! [`other_accounts`], [`change_password_transition`], [`assemble_account`].

use leptos::html::Input;
use leptos::prelude::*;

use kaltura_api::codes;
use kaltura_api::responses::{KalturaPartner, KalturaUser};

use crate::api::{ApiClient, ApiError, Session, use_api};
use crate::components::alert::Alert;
use crate::components::code_input::{ExpandingCodeInput, complete_code};
use crate::components::password_field::PasswordField;
use crate::config::use_config;
use std::sync::Arc;

use crate::i18n::{Text, slotted, t, text, tr, tr_with, use_title};
use crate::pages::login::{
    CODE_REJECTED, UNREACHABLE, check_new_password, focus_soon, password_update_error_message,
};
use crate::routes::{self, use_navigator};
use crate::session::{self, SESSION_ENDED, use_login_prefill};

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
        Err(e) => SwitchOutcome::Failed(crate::pages::login::login_error_message(e)),
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

/// What the change-password form does with the server's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeTransition {
    /// The message for the result region.
    pub message: Text,
    /// The code field is (now) needed.
    pub code_needed: bool,
    /// Empty the code field.
    pub clear_code: bool,
    /// Empty the new-password fields (the server refused that password).
    pub clear_new_password: bool,
    /// Empty the current-password field (it was wrong).
    pub clear_current: bool,
    /// Everything went through: empty the whole form.
    pub done: bool,
}

/// Decides what the change-password form shows after `adminUser.updatePassword`.
pub fn change_password_transition(
    code_needed: bool,
    result: &Result<(), ApiError>,
) -> ChangeTransition {
    let base = ChangeTransition {
        message: Text::Raw(String::new()),
        code_needed,
        clear_code: false,
        clear_new_password: false,
        clear_current: false,
        done: false,
    };
    let Err(err) = result else {
        return ChangeTransition {
            message: Text::key("account.password-changed"),
            code_needed: false,
            done: true,
            ..base
        };
    };
    match err.code() {
        Some(codes::MISSING_OTP) => ChangeTransition {
            message: password_update_error_message(err),
            code_needed: true,
            ..base
        },
        Some(codes::INVALID_OTP) => ChangeTransition {
            message: Text::key(CODE_REJECTED),
            code_needed: true,
            clear_code: true,
            ..base
        },
        Some(codes::WRONG_OLD_PASSWORD | codes::USER_WRONG_PASSWORD) => ChangeTransition {
            message: password_update_error_message(err),
            clear_current: true,
            ..base
        },
        Some(
            codes::PASSWORD_STRUCTURE_INVALID
            | codes::COMMON_PASSWORD
            | codes::PASSWORD_ALREADY_USED,
        ) => ChangeTransition {
            message: password_update_error_message(err),
            clear_new_password: true,
            ..base
        },
        _ => ChangeTransition {
            message: password_update_error_message(err),
            ..base
        },
    }
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
async fn load_account(api: ApiClient, ks: String) -> Result<AccountData, ApiError> {
    let (user, partner, partners) = futures::join!(
        api.get_user(&ks),
        api.get_partner_info(&ks),
        api.list_partners(&ks)
    );
    assemble_account(user, partner, partners)
}

/// The account page: who is signed in, the current account, switching,
/// change password, "Open KMC" and "Log out".
#[component]
pub fn AccountPage() -> impl IntoView {
    let api = use_api();
    let config = use_config();
    let navigate = use_navigator();
    let prefill = use_login_prefill();

    let ks = RwSignal::new(session::load_ks());
    use_title("page.account");
    let alert = RwSignal::new(None::<Text>);
    let status = RwSignal::new(None::<Text>);
    let relogin = RwSignal::new(None::<KalturaPartner>);

    // Leaves for the sign-in card; `notice` explains why, `target` is the
    // account the next sign-in should go to.
    let to_login = move |notice: Option<Text>, email: Option<String>, target: Option<i64>| {
        session::clear_ks();
        prefill.update(|p| {
            p.notice = notice;
            p.email = email;
            p.partner_id = target;
            p.return_to = None;
        });
        navigate.replace(routes::LOGIN);
    };

    let load_api = api.clone();
    // The route's guard opens this page only with a session.
    let data = LocalResource::new(move || {
        let api = load_api.clone();
        let ks = ks.get().unwrap_or_default();
        async move { load_account(api, ks).await }
    });

    {
        Effect::new(move |_| {
            if let Some(Err(e)) = data.get()
                && e.is(codes::INVALID_KS)
            {
                to_login(Some(Text::key(SESSION_ENDED)), None, None);
            }
        });
    }

    let current = move || data.get().and_then(Result::ok);

    let switch_api = api.clone();
    let switch = Action::new_local(move |target: &KalturaPartner| {
        let api = switch_api.clone();
        let target = target.clone();
        async move {
            let Some(old) = ks.get_untracked() else {
                return;
            };
            alert.set(None);
            status.set(None);
            relogin.set(None);
            match api.login_by_ks(&old, target.id).await {
                Ok(Session { ks: new }) => {
                    session::store_ks(&new);
                    // The old session is ended so it cannot be reused; if the
                    // server cannot be reached it expires on its own.
                    let _ = api.end_session(&old).await;
                    status.set(Some(Text::with(
                        "account.switched",
                        "account",
                        account_label(&target).render(),
                    )));
                    ks.set(Some(new));
                }
                Err(e) => match switch_outcome(&Err(e)) {
                    SwitchOutcome::ReloginRequired => relogin.set(Some(target)),
                    SwitchOutcome::SessionEnded => {
                        to_login(Some(Text::key(SESSION_ENDED)), None, None)
                    }
                    SwitchOutcome::Failed(message) => alert.set(Some(message)),
                    SwitchOutcome::Switched => {}
                },
            }
        }
    });

    let relogin_api = api.clone();
    let sign_in_again = Action::new_local(move |(target, email): &(KalturaPartner, String)| {
        let api = relogin_api.clone();
        let (target, email) = (target.clone(), email.clone());
        async move {
            if let Some(old) = ks.get_untracked() {
                let _ = api.end_session(&old).await;
            }
            to_login(None, Some(email), Some(target.id));
        }
    });

    let logout_api = api.clone();
    let logout = Action::new_local(move |()| {
        let api = logout_api.clone();
        async move {
            if let Some(old) = ks.get_untracked() {
                // Cleared locally whatever the server says: a user who asks to
                // log out must be logged out of this tab.
                let _ = api.end_session(&old).await;
            }
            to_login(None, None, None);
        }
    });

    // Change password.
    let current_password = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let confirm_password = RwSignal::new(String::new());
    let change_code = RwSignal::new(String::new());
    let code_needed = RwSignal::new(false);
    let change_result = RwSignal::new(None::<Text>);
    let change_code_ref = NodeRef::<Input>::new();
    let new_password_ref = NodeRef::<Input>::new();

    let change_api = api.clone();
    let change = Action::new_local(
        move |(email, old, new, otp): &(String, String, String, Option<String>)| {
            let api = change_api.clone();
            let (email, old, new, otp) = (email.clone(), old.clone(), new.clone(), otp.clone());
            async move {
                let session = ks.get_untracked();
                let result = api
                    .update_password(&email, &old, &new, otp.as_deref(), session.as_deref())
                    .await;
                let t = change_password_transition(code_needed.get_untracked(), &result);
                change_result.set(Some(t.message));
                code_needed.set(t.code_needed);
                if t.clear_code || t.done {
                    change_code.set(String::new());
                }
                if t.clear_new_password || t.done {
                    new_password.set(String::new());
                    confirm_password.set(String::new());
                }
                if t.clear_current || t.done {
                    current_password.set(String::new());
                }
                if t.code_needed && !t.done {
                    focus_soon(change_code_ref);
                } else if t.clear_new_password {
                    focus_soon(new_password_ref);
                }
            }
        },
    );
    let change_pending = change.pending();

    let submit_change = move || {
        if change_pending.get_untracked() {
            return;
        }
        let Some(data) = current() else { return };
        let new = new_password.get_untracked();
        if current_password.get_untracked().is_empty() {
            change_result.set(Some(Text::key("account.enter-current")));
            return;
        }
        if let Err(why) = check_new_password(
            &current_password.get_untracked(),
            &new,
            &confirm_password.get_untracked(),
        ) {
            change_result.set(Some(Text::key(why)));
            return;
        }
        let otp = if code_needed.get_untracked() {
            match complete_code(&change_code.get_untracked()) {
                Some(code) => Some(code),
                None => {
                    change_result.set(Some(Text::key("common.enter-code-digits")));
                    focus_soon(change_code_ref);
                    return;
                }
            }
        } else {
            None
        };
        change.dispatch((data.email(), current_password.get_untracked(), new, otp));
    };

    let kmc_url = config.kmc_url.clone();
    let busy = Signal::derive(move || {
        switch.pending().get() || logout.pending().get() || sign_in_again.pending().get()
    });

    let account_view = move |d: AccountData| {
        let others = other_accounts(&d.partners, d.partner.id);
        let email = d.email();
        let kmc_url = kmc_url.clone();
        view! {
            <div class="who">
                <p data-testid="signed-in-as">
                    {
                        let (name, email) = (d.user.display_name(), email.clone());
                        // The name and the email keep their own direction in a
                        // right-to-left sentence.
                        slotted(
                            "account.signed-in-as",
                            // `<bdi>` takes each value's own direction.
                            Arc::new(move |slot| {
                                let value = if slot == "email" { email.clone() } else { name.clone() };
                                view! { <bdi>{value}</bdi> }.into_any()
                            }),
                        )
                    }
                </p>
                <p data-testid="current-account">
                    <strong>
                        {
                            let label = account_label(&d.partner);
                            label.signal()
                        }
                    </strong>
                </p>
                {d
                    .limited
                    .then(|| {
                        view! {
                            <p class="muted" data-testid="account-details-limited">
                                {t("account.limited")}
                            </p>
                        }
                    })}
            </div>
            {kmc_url
                .map(|kmc| {
                    view! {
                        <button
                            type="button"
                            data-testid="open-kmc"
                            on:click=move |_| {
                                if let Some(ks) = ks.get_untracked() {
                                    session::handoff_to_kmc(&kmc, &ks);
                                }
                            }
                        >
                            {t("account.open-kmc")}
                        </button>
                    }
                })}
            {move || {
                relogin
                    .get()
                    .map(|target| {
                        let email = email.clone();
                        let message = relogin_message(&target);
                        view! {
                            <div class="notice" data-testid="relogin-required" role="status">
                                <p>{message.signal()}</p>
                                <button
                                    type="button"
                                    data-testid="relogin"
                                    disabled=move || busy.get()
                                    on:click=move |_| {
                                        sign_in_again.dispatch((target.clone(), email.clone()));
                                    }
                                >
                                    {t("account.sign-in-again")}
                                </button>
                            </div>
                        }
                    })
            }}
            <Show when={
                let empty = others.is_empty();
                move || !empty
            }>
                <h2>{t("account.others")}</h2>
                <ul class="account-list">
                    {others
                        .clone()
                        .into_iter()
                        .map(|p| {
                            let label = account_label(&p);
                            let test_id = format!("switch-account-{}", p.id);
                            let target = p.clone();
                            view! {
                                <li>
                                    <span>
                                        {
                                            let label = label.clone();
                                            label.signal()
                                        }
                                    </span>
                                    <button
                                        type="button"
                                        class="secondary"
                                        data-testid=test_id
                                        aria-label=text(move || {
                                            tr_with("account.switch-to", &[("account", &label.render())])
                                        })
                                        disabled=move || busy.get()
                                        on:click=move |_| {
                                            switch.dispatch(target.clone());
                                        }
                                    >
                                        {t("account.switch")}
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </Show>
        }
    };

    view! {
        <section class="card wide" data-testid="account-card">
            <h1>{t("account.title")}</h1>
            <Alert message=alert test_id="account-alert" />
            <Alert message=status test_id="account-status" polite=true />
            {move || match data.get() {
                None => {
                    view! { <p class="muted">{t("account.loading")}</p> }.into_any()
                }
                Some(Ok(d)) => account_view(d).into_any(),
                Some(Err(e)) if e.is(codes::INVALID_KS) => {
                    view! { <p class="muted">{t("account.session-ended")}</p> }.into_any()
                }
                Some(Err(e)) => {
                    let message = if e.is_unreachable() {
                        Text::key(UNREACHABLE)
                    } else {
                        crate::pages::login::login_error_message(&e)
                    };
                    view! {
                        <div class="alert" role="alert" data-testid="account-load-error">
                            {message.signal()}
                        </div>
                        <button
                            type="button"
                            class="secondary"
                            data-testid="retry"
                            on:click=move |_| data.refetch()
                        >
                            {t("common.try-again")}
                        </button>
                    }
                        .into_any()
                }
            }}
            <hr />
            <h2>{t("account.change-title")}</h2>
            <form
                data-testid="change-password-form"
                on:submit=move |ev| {
                    ev.prevent_default();
                    submit_change();
                }
            >
                <PasswordField
                    id="change-current-password"
                    label="password.current"
                    value=current_password
                    autocomplete="current-password"
                />
                <PasswordField
                    id="change-new-password"
                    label="password.new"
                    value=new_password
                    autocomplete="new-password"
                    node_ref=new_password_ref
                />
                <PasswordField
                    id="change-confirm-password"
                    label="password.confirm-new"
                    value=confirm_password
                    autocomplete="new-password"
                />
                <ExpandingCodeInput
                    id="change-otp"
                    shown=code_needed
                    value=change_code
                    node_ref=change_code_ref
                    on_complete=move |_| submit_change()
                />
                <button
                    type="submit"
                    data-testid="change-password-submit"
                    disabled=move || change_pending.get()
                >
                    {text(move || tr(if change_pending.get() { "account.changing" } else { "account.change-submit" }))}
                </button>
                <Alert message=change_result test_id="change-password-result" />
            </form>
            <hr />
            <button
                type="button"
                class="secondary"
                data-testid="logout"
                disabled=move || busy.get()
                on:click=move |_| {
                    logout.dispatch(());
                }
            >
                {t("account.log-out")}
            </button>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kaltura_api::KalturaApiError;

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
    fn the_change_password_form_asks_for_the_code_when_the_server_misses_it() {
        let t = change_password_transition(false, &Err(api(codes::MISSING_OTP)));
        assert!(t.code_needed && !t.done && !t.clear_new_password);
        let t = change_password_transition(true, &Err(api(codes::INVALID_OTP)));
        assert!(t.code_needed && t.clear_code);
        assert!(t.message.to_string().contains("not accepted"));
    }

    #[test]
    fn the_change_password_form_clears_only_the_refused_fields() {
        let t = change_password_transition(false, &Err(api(codes::WRONG_OLD_PASSWORD)));
        assert!(t.clear_current && !t.clear_new_password);
        let t = change_password_transition(false, &Err(api(codes::COMMON_PASSWORD)));
        assert!(t.clear_new_password && !t.clear_current);
        let t = change_password_transition(false, &Err(ApiError::Network));
        assert!(!t.clear_new_password && !t.clear_current && !t.clear_code);
        assert!(t.message.to_string().starts_with("Can't reach the server"));
    }

    #[test]
    fn a_changed_password_empties_the_form_and_keeps_the_session() {
        let t = change_password_transition(true, &Ok(()));
        assert!(t.done && !t.code_needed);
        assert!(t.message.to_string().contains("stay signed in"));
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
