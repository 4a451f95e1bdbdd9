//! The route guards, in a real browser under leptos_router: `/account`
//! signed out, `/login` signed in, and the back button after signing in.
#![cfg(target_arch = "wasm32")]

mod support;

use kmc_login::config::AppConfig;
use support::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const USER: &str = r#"{"objectType":"KalturaUser","id":"ada@example.com","partnerId":100,"email":"ada@example.com","fullName":"Ada Lovelace","isAdmin":true}"#;
const INVALID_KS: &str = r#"{"code":"INVALID_KS","message":"Invalid KS","objectType":"KalturaAPIException","args":{"KSID":"EXPIRED"}}"#;

fn history_length() -> u32 {
    web_sys::window()
        .unwrap()
        .history()
        .unwrap()
        .length()
        .unwrap()
}

fn signed_in(ks: &str) {
    clear_storage();
    session_storage().set_item("kmc.ks", ks).unwrap();
}

#[wasm_bindgen_test]
async fn the_account_page_signed_out_opens_sign_in_in_its_place_without_asking_the_server() {
    clear_storage();
    let fake = FakeKaltura::default();
    set_path("/account");
    let entries = history_length();
    let page = mount_app(&fake, "/account", AppConfig::default());
    until(|| find(&page, "#login-email").is_some()).await;
    assert_eq!(current_path(), "/login");
    assert_eq!(
        history_length(),
        entries,
        "the guard left no entry to go back to"
    );
    assert!(find_test_id(&page, "account-card").is_none());
    assert!(fake.actions().is_empty(), "{:?}", fake.actions());
}

#[wasm_bindgen_test]
async fn sign_in_with_a_live_session_offers_to_continue_as_its_user() {
    signed_in("ks-live");
    let fake = FakeKaltura::default();
    fake.reply("user.get", USER);
    let page = mount_app(&fake, "/login", AppConfig::default());
    until(|| find_test_id(&page, "continue-signed-in").is_some()).await;
    assert_eq!(
        text(&page, "signed-in-as"),
        "Signed in as Ada Lovelace (ada@example.com)"
    );
    assert!(find(&page, "#login-email").is_none(), "no card to fill");
    assert_eq!(fake.sent("user.get")[0]["ks"], "ks-live");

    let entries = history_length();
    click(&page, "continue-signed-in");
    until(|| current_path() == "/account").await;
    assert_eq!(
        history_length(),
        entries,
        "the offer is replaced, not stacked"
    );
}

#[wasm_bindgen_test]
async fn using_another_account_from_the_offer_ends_the_session_and_shows_the_card() {
    signed_in("ks-live");
    let fake = FakeKaltura::default();
    fake.reply("user.get", USER).reply("session.end", "null");
    let page = mount_app(&fake, "/login", AppConfig::default());
    until(|| find_test_id(&page, "continue-signed-in").is_some()).await;
    click(&page, "use-another-account");
    until(|| find(&page, "#login-email").is_some()).await;
    assert_eq!(session_storage().get_item("kmc.ks").unwrap(), None);
    until(|| fake.count("session.end") == 1).await;
    assert_eq!(fake.sent("session.end")[0]["ks"], "ks-live");
}

#[wasm_bindgen_test]
async fn sign_in_with_a_session_the_server_ended_forgets_it_and_shows_the_card() {
    signed_in("ks-ended");
    let fake = FakeKaltura::default();
    fake.reply("user.get", INVALID_KS);
    let page = mount_app(&fake, "/login", AppConfig::default());
    until(|| find(&page, "#login-email").is_some()).await;
    assert!(find_test_id(&page, "continue-signed-in").is_none());
    assert_eq!(session_storage().get_item("kmc.ks").unwrap(), None);
}

#[wasm_bindgen_test]
async fn back_after_signing_in_skips_the_used_sign_in_card() {
    clear_storage();
    let fake = FakeKaltura::default();
    fake.reply("user.loginByLoginId", "\"ks-new\"");
    let page = mount_app(&fake, "/nowhere", AppConfig::default());
    settle().await;
    // Followed in the app: a new history entry for the card.
    get(&page, "a[href=\"/login\"]")
        .unchecked_into::<web_sys::HtmlElement>()
        .click();
    until(|| find(&page, "#login-email").is_some()).await;
    type_into(&page, "login-email", "ada@example.com");
    type_into(&page, "login-password", "correct horse battery");
    settle().await;
    click(&page, "login-submit");
    until(|| current_path() == "/account").await;

    web_sys::window()
        .unwrap()
        .history()
        .unwrap()
        .back()
        .unwrap();
    until(|| current_path() == "/nowhere").await;
    assert!(find(&page, "#login-email").is_none());
}

#[wasm_bindgen_test]
async fn a_link_path_without_its_key_says_the_link_cannot_be_used_under_a_level_one_heading() {
    for (path, heading) in [
        ("/actions/auth-info", "This link can't be used any more"),
        (
            "/actions/restore-password",
            "This link is invalid or has expired",
        ),
    ] {
        clear_storage();
        let fake = FakeKaltura::default();
        let page = mount_app(&fake, path, AppConfig::default());
        settle().await;
        let h1 = get(&page, "[data-testid=\"link-invalid\"] h1");
        assert_eq!(
            h1.text_content().unwrap_or_default().trim(),
            heading,
            "{path}"
        );
        assert!(find_test_id(&page, "reset-submit").is_some(), "{path}");
        assert!(fake.actions().is_empty(), "{path}: {:?}", fake.actions());
    }
}
