//! In front of a real Kaltura: the app against replies written exactly as
//! Kaltura's api_v3 writes them (PHP `json_encode`: `/` escaped as `\/`, every
//! non-ASCII character as `\uXXXX`, null fields dropped, `objectType` last,
//! errors with HTTP 200 and `args` as `[]` or an object), one or more for
//! every action the app calls, and what the app sends and hands to KMC.
#![cfg(target_arch = "wasm32")]

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use kmc_login::api::TransportError;
use kmc_login::config::AppConfig;
use support::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const LOGIN: &str = "user.loginByLoginId";

/// `user.loginByLoginId`: the KS as a bare JSON string, its `/` escaped.
const KS_REPLY: &str = r#""djJ8MTAyfDJ\/c2Vzc2lvbi1rcw==""#;
/// [`KS_REPLY`] as the app must read it.
const KS: &str = "djJ8MTAyfDJ/c2Vzc2lvbi1rcw==";

/// `user.get` for a user who is not an account admin; no email, nulls dropped.
const VIEWER: &str = r#"{"id":"zo\u00eb@example.com","partnerId":102,"screenName":"Zo\u00eb","fullName":"Zo\u00eb Q\u00fcinn","email":"zo\u00eb@example.com","status":1,"createdAt":1700000000,"isAdmin":false,"roleIds":"3","loginEnabled":true,"objectType":"KalturaUser"}"#;
/// `partner.getInfo` refused to a user who is not an account admin.
const GET_INFO_FORBIDDEN: &str = r#"{"code":"SERVICE_FORBIDDEN","message":"The access to service [partner->getInfo] is forbidden","objectType":"KalturaAPIException","args":{"SERVICE":"partner->getInfo"}}"#;
/// `partner.getInfo` for an admin.
const STUDIO_INFO: &str = r#"{"id":102,"name":"Caf\u00e9 \/ Studio","website":"https:\/\/studio.example","status":1,"partnerPackage":100,"objectType":"KalturaPartner"}"#;
/// `partner.listPartnersForUser`.
const PARTNER_LIST: &str = r#"{"objects":[{"id":101,"name":"M\u00fcnchen Media","status":1,"objectType":"KalturaPartner"},{"id":102,"name":"Caf\u00e9 \/ Studio","status":1,"objectType":"KalturaPartner"}],"totalCount":2,"objectType":"KalturaPartnerListResponse"}"#;
/// `user.loginByKs` with only the KS (the fields the app does not need left out).
const SESSION_RESPONSE: &str =
    r#"{"ks":"djJ8MTAxfG5ldy1rcw==","objectType":"KalturaSessionResponse"}"#;
/// `adminUser.updatePassword`: Kaltura echoes the new password; the app ignores it.
const ADMIN_USER: &str = r#"{"password":"n3w-Pass!","email":"ada@example.com","id":"ada@example.com","partnerId":101,"objectType":"KalturaAdminUser"}"#;
/// `user.generateQrCode`: base64 PNG bytes, `/` escaped.
const PNG_REPLY: &str = r#""iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR42mNgUPXKn7KT4R6zhm\/RdAAcjwSL7JBtMAAAAABJRU5ErkJggg==""#;
/// `user.validateHashKey`: Kaltura names no email.
const HASH_VALID: &str = r#"{"objectType":"KalturaAuthentication"}"#;
/// Kaltura's `setInitialPassword` after the outside QR service failed: the
/// password is saved and the link spent already.
const INTERNAL_ERROR: &str = r#"{"code":"INTERNAL_SERVERL_ERROR","message":"Internal server error occurred","objectType":"KalturaAPIException","args":[]}"#;
/// Kaltura's default rules, one per line, as `setInitialPassword` sends them.
const STRUCTURE_INVALID: &str = r#"{"code":"PASSWORD_STRUCTURE_INVALID","message":"The password you entered has an invalid structure.\nPasswords must obey the following rules :\n- Must be 8\u201314 characters long.\n- Must contain at least one digit (0-9).","objectType":"KalturaAPIException","args":{"RULES":"- Must be 8\u201314 characters long.\n- Must contain at least one digit (0-9)."}}"#;
/// The same from `adminUser.updatePassword`, where the breaks are a literal `\n`.
const STRUCTURE_INVALID_LITERAL: &str = r#"{"code":"PASSWORD_STRUCTURE_INVALID","message":"The password you entered has an invalid structure.","objectType":"KalturaAPIException","args":{"RULES":"- Must be 8\u201314 characters long.\\n- Must contain at least one digit (0-9)."}}"#;

const HASH_KEY: &str = "a2FsdHVyYS1oYXNoLWtleQ";

/// Every page of the app under one router.
fn mount(fake: &FakeKaltura, path: &str, config: AppConfig) -> Mounted {
    mount_app(fake, path, config)
}

fn with_kmc() -> AppConfig {
    AppConfig {
        kmc_url: Some("http://kmc.test/index.php/kmcng/".into()),
        ..AppConfig::default()
    }
}

/// A form the page submitted: its method, action, number of fields and the
/// value of its `ks` field.
#[derive(Debug, Clone, PartialEq)]
struct Submitted {
    method: String,
    action: String,
    fields: u32,
    ks: Option<String>,
}

/// Catches the hand-off form's submission (it sends a `submit` event first),
/// records it and cancels it, so the test page stays.
struct SubmitSpy {
    seen: Rc<RefCell<Vec<Submitted>>>,
    listener: Closure<dyn FnMut(web_sys::Event)>,
}

impl SubmitSpy {
    fn new() -> Self {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let record = seen.clone();
        let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let form: web_sys::HtmlFormElement = event.target().unwrap().unchecked_into();
            // The app's own forms handle their submit events themselves.
            if form.get_attribute("data-testid").as_deref() != Some("kmc-handoff") {
                return;
            }
            event.prevent_default();
            record.borrow_mut().push(Submitted {
                method: form.method(),
                action: form.action(),
                fields: form.child_element_count(),
                ks: form
                    .query_selector("input[name=\"ks\"]")
                    .unwrap()
                    .map(|i| i.unchecked_into::<web_sys::HtmlInputElement>().value()),
            });
            form.remove();
        });
        web_sys::window()
            .unwrap()
            .add_event_listener_with_callback_and_bool(
                "submit",
                listener.as_ref().unchecked_ref(),
                true,
            )
            .unwrap();
        Self { seen, listener }
    }

    fn submitted(&self) -> Vec<Submitted> {
        self.seen.borrow().clone()
    }
}

impl Drop for SubmitSpy {
    fn drop(&mut self) {
        let _ = web_sys::window()
            .unwrap()
            .remove_event_listener_with_callback_and_bool(
                "submit",
                self.listener.as_ref().unchecked_ref(),
                true,
            );
    }
}

/// The hand-off every test expects: a POST of the KS alone to KMC's
/// `actions/persist-login-by-ks`, with nothing in the URL.
fn handoff_of(ks: &str) -> Submitted {
    Submitted {
        method: "post".into(),
        action: "http://kmc.test/index.php/kmcng/actions/persist-login-by-ks".into(),
        fields: 1,
        ks: Some(ks.into()),
    }
}

fn assert_every_call_is_tagged(fake: &FakeKaltura) {
    for (action, body) in fake.calls.borrow().iter() {
        assert_eq!(body["clientTag"], "kmc-login", "{action}: {body}");
    }
}

#[wasm_bindgen_test]
async fn signing_in_asks_for_kmcs_ks_and_posts_it_to_kmcs_persist_login_by_ks_route() {
    clear_storage();
    let spy = SubmitSpy::new();
    let fake = FakeKaltura::default();
    fake.reply(LOGIN, KS_REPLY);
    let root = mount(&fake, "/login", with_kmc());
    settle().await;
    type_into(&root, "login-email", "ada@example.com");
    type_into(&root, "login-password", "correct horse battery");
    click(&root, "login-submit");
    until(|| !spy.submitted().is_empty()).await;

    assert_eq!(spy.submitted(), [handoff_of(KS)]);
    let sent = &fake.sent(LOGIN)[0];
    assert_eq!(sent["privileges"], "disableentitlement,appid:kmc");
    assert_eq!(sent["expiry"], 86400);
    assert_eq!(sent["otp"], "");
    assert_eq!(
        session_storage().get_item("kmc.ks").unwrap().as_deref(),
        Some(KS)
    );
    assert_every_call_is_tagged(&fake);
}

#[wasm_bindgen_test]
async fn a_user_who_is_not_an_account_admin_sees_the_account_and_can_switch_open_kmc_and_log_out() {
    clear_storage();
    session_storage().set_item("kmc.ks", KS).unwrap();
    let spy = SubmitSpy::new();
    let fake = FakeKaltura::default();
    fake.reply("user.get", VIEWER)
        .reply("partner.getInfo", GET_INFO_FORBIDDEN)
        .reply("partner.listPartnersForUser", PARTNER_LIST)
        .reply("user.loginByKs", SESSION_RESPONSE)
        .reply("session.end", "null")
        .reply(
            "user.get",
            &VIEWER.replace(r#""partnerId":102"#, r#""partnerId":101"#),
        )
        .reply("partner.getInfo", GET_INFO_FORBIDDEN)
        .reply("partner.listPartnersForUser", PARTNER_LIST)
        .reply("session.end", "null");
    let root = mount(&fake, "/account", with_kmc());
    until(|| find_test_id(&root, "current-account").is_some()).await;

    assert_eq!(
        text(&root, "signed-in-as"),
        "Signed in as Zoë Qüinn (zoë@example.com)"
    );
    assert_eq!(text(&root, "current-account"), "Café / Studio (ID 102)");
    assert!(text(&root, "account-details-limited").contains("administrators"));
    assert!(find_test_id(&root, "account-load-error").is_none());
    let list = &fake.sent("partner.listPartnersForUser")[0];
    assert_eq!(list["pager"]["pageSize"], 500);
    assert_eq!(list["partnerFilter"]["statusEqual"], 1);

    click(&root, "open-kmc");
    settle().await;
    assert_eq!(spy.submitted(), [handoff_of(KS)]);

    click(&root, "switch-account-101");
    until(|| {
        find_test_id(&root, "current-account")
            .is_some_and(|_| text(&root, "current-account") == "München Media (ID 101)")
    })
    .await;
    assert_eq!(fake.sent("user.loginByKs")[0]["requestedPartnerId"], 101);
    assert_eq!(
        session_storage().get_item("kmc.ks").unwrap().as_deref(),
        Some("djJ8MTAxfG5ldy1rcw==")
    );
    assert_eq!(fake.sent("session.end")[0]["ks"], KS);

    click(&root, "logout");
    until(|| current_path() == "/login").await;
    assert_eq!(session_storage().get_item("kmc.ks").unwrap(), None);
    assert_every_call_is_tagged(&fake);
}

#[wasm_bindgen_test]
async fn an_admin_sees_the_account_name_kaltura_escaped() {
    clear_storage();
    session_storage().set_item("kmc.ks", KS).unwrap();
    let fake = FakeKaltura::default();
    fake.reply("user.get", VIEWER)
        .reply("partner.getInfo", STUDIO_INFO)
        .reply("partner.listPartnersForUser", PARTNER_LIST);
    let root = mount(&fake, "/account", AppConfig::default());
    until(|| find_test_id(&root, "current-account").is_some()).await;
    assert_eq!(text(&root, "current-account"), "Café / Studio (ID 102)");
    assert!(find_test_id(&root, "account-details-limited").is_none());
    assert!(find_test_id(&root, "switch-account-101").is_some());
}

#[wasm_bindgen_test]
async fn a_masked_lockout_on_the_code_step_says_the_sign_in_was_blocked() {
    clear_storage();
    let fake = FakeKaltura::default();
    fake.reply(LOGIN, &error("MISSING_OTP", "OTP is missing"))
        .reply(
            LOGIN,
            &error("USER_WRONG_PASSWORD", "Wrong password supplied"),
        );
    let root = mount(&fake, "/login", AppConfig::default());
    settle().await;
    type_into(&root, "login-email", "ada@example.com");
    type_into(&root, "login-password", "correct horse battery");
    click(&root, "login-submit");
    settle().await;
    type_into(&root, "login-otp", "123456");
    settle().await;

    let alert = text(&root, "login-alert");
    assert!(alert.contains("blocked after too many attempts"), "{alert}");
    assert!(!alert.contains("incorrect"), "{alert}");
    assert_eq!(fake.sent(LOGIN)[1]["otp"], "123456");
}

#[wasm_bindgen_test]
async fn an_unmasked_lockout_promises_no_duration() {
    clear_storage();
    let fake = FakeKaltura::default();
    fake.reply(LOGIN, &error("LOGIN_BLOCKED", "You account is locked"));
    let root = mount(&fake, "/login", AppConfig::default());
    settle().await;
    type_into(&root, "login-email", "ada@example.com");
    type_into(&root, "login-password", "correct horse battery");
    click(&root, "login-submit");
    settle().await;
    let alert = text(&root, "login-alert");
    assert!(alert.contains("temporarily locked"), "{alert}");
    assert!(!alert.contains("15 minutes"), "{alert}");
}

/// Signs in and lands on the expired-password step.
async fn expired_step(fake: &FakeKaltura) -> Mounted {
    clear_storage();
    let root = mount(fake, "/login", AppConfig::default());
    settle().await;
    type_into(&root, "login-email", "ada@example.com");
    type_into(&root, "login-password", "old-Pass1!");
    click(&root, "login-submit");
    settle().await;
    assert!(find_test_id(&root, "expired-form").is_some());
    root
}

#[wasm_bindgen_test]
async fn an_expired_password_cannot_be_replaced_by_itself_and_kalturas_rules_keep_their_lines() {
    let fake = FakeKaltura::default();
    fake.reply(
        LOGIN,
        &error("PASSWORD_EXPIRED", "Current password has expired"),
    )
    .reply("adminUser.updatePassword", STRUCTURE_INVALID_LITERAL)
    .reply("adminUser.updatePassword", ADMIN_USER)
    .reply(LOGIN, KS_REPLY);
    let root = expired_step(&fake).await;

    type_into(&root, "expired-new-password", "old-Pass1!");
    type_into(&root, "expired-confirm-password", "old-Pass1!");
    click(&root, "expired-submit");
    settle().await;
    assert_eq!(fake.count("adminUser.updatePassword"), 0, "nothing sent");
    assert!(text(&root, "login-alert").contains("different from the current one"));

    type_into(&root, "expired-new-password", "n3wpass");
    type_into(&root, "expired-confirm-password", "n3wpass");
    click(&root, "expired-submit");
    settle().await;
    let alert = by_test_id(&root, "login-alert")
        .text_content()
        .unwrap_or_default();
    assert!(
        alert.contains("- Must be 8–14 characters long.\n- Must contain at least one digit"),
        "{alert:?}"
    );
    assert!(!alert.contains("\\n"), "{alert:?}");

    type_into(&root, "expired-new-password", "n3w-Pass!");
    type_into(&root, "expired-confirm-password", "n3w-Pass!");
    click(&root, "expired-submit");
    until(|| current_path() == "/account").await;
    assert_eq!(fake.sent(LOGIN)[1]["password"], "n3w-Pass!");
    assert_eq!(
        session_storage().get_item("kmc.ks").unwrap().as_deref(),
        Some(KS)
    );
}

#[wasm_bindgen_test]
async fn the_account_page_refuses_a_new_password_equal_to_the_current_one_before_sending() {
    clear_storage();
    session_storage().set_item("kmc.ks", KS).unwrap();
    let fake = FakeKaltura::default();
    fake.reply("user.get", VIEWER)
        .reply("partner.getInfo", STUDIO_INFO)
        .reply("partner.listPartnersForUser", PARTNER_LIST);
    let root = mount(&fake, "/account", AppConfig::default());
    until(|| find_test_id(&root, "current-account").is_some()).await;
    type_into(&root, "change-current-password", "same-Pass1!");
    type_into(&root, "change-new-password", "same-Pass1!");
    type_into(&root, "change-confirm-password", "same-Pass1!");
    click(&root, "change-password-submit");
    settle().await;
    assert_eq!(fake.count("adminUser.updatePassword"), 0);
    assert!(text(&root, "change-password-result").contains("different from the current one"));
}

async fn set_password_page(fake: &FakeKaltura) -> Mounted {
    clear_storage();
    let root = mount(
        fake,
        &format!("/actions/restore-password/{HASH_KEY}"),
        AppConfig::default(),
    );
    settle().await;
    type_into(&root, "new-password", "n3w-Pass!");
    type_into(&root, "confirm-password", "n3w-Pass!");
    settle().await;
    click(&root, "set-password-submit");
    settle().await;
    root
}

#[wasm_bindgen_test]
async fn kalturas_internal_error_after_setting_the_password_says_it_may_have_changed() {
    let fake = FakeKaltura::default();
    fake.reply("user.validateHashKey", HASH_VALID)
        .reply("user.setInitialPassword", INTERNAL_ERROR)
        .reply("user.resetPassword", "null");
    let root = set_password_page(&fake).await;

    let said = text(&root, "password-maybe-set");
    assert!(said.contains("may have been changed"), "{said}");
    assert!(said.contains("new link"), "{said}");
    assert!(!said.contains("not changed"), "{said}");
    assert!(
        find(&root, "#new-password").is_none(),
        "no retry of a spent link"
    );

    type_into(&root, "reset-email", "ada@example.com");
    click(&root, "reset-submit");
    settle().await;
    assert_eq!(fake.count("user.resetPassword"), 1);
    click(&root, "password-set-continue");
    settle().await;
    assert_eq!(current_path(), "/login");
    assert_every_call_is_tagged(&fake);
}

#[wasm_bindgen_test]
async fn a_timeout_or_a_garbled_reply_when_setting_the_password_says_it_may_have_changed() {
    for reply in [
        Reply::Fail(TransportError::Timeout),
        Reply::Body("<html><body>504 Gateway Time-out</body></html>".into()),
    ] {
        let fake = FakeKaltura::default();
        fake.reply("user.validateHashKey", HASH_VALID)
            .push("user.setInitialPassword", reply);
        let root = set_password_page(&fake).await;
        assert!(text(&root, "password-maybe-set").contains("may have been changed"));
    }
}

#[wasm_bindgen_test]
async fn kalturas_own_rules_replace_ours_line_by_line() {
    let fake = FakeKaltura::default();
    fake.reply("user.validateHashKey", HASH_VALID)
        .reply("user.setInitialPassword", STRUCTURE_INVALID);
    let root = set_password_page(&fake).await;

    let rules = by_test_id(&root, "server-rules")
        .text_content()
        .unwrap_or_default();
    assert_eq!(
        rules,
        "- Must be 8–14 characters long.\n- Must contain at least one digit (0-9)."
    );
    assert!(
        find_test_id(&root, "rule-length").is_none(),
        "our length rule is gone"
    );
    assert!(find_test_id(&root, "rule-match").is_some());
    let listed = text(&root, "password-rules");
    assert!(!listed.contains("long phrase"), "{listed}");
}

#[wasm_bindgen_test]
async fn kalturas_png_qr_code_with_escaped_slashes_is_shown_as_an_image() {
    clear_storage();
    let fake = FakeKaltura::default();
    fake.reply("user.generateQrCode", PNG_REPLY);
    let root = mount(
        &fake,
        &format!("/actions/auth-info/{HASH_KEY}"),
        AppConfig::default(),
    );
    settle().await;
    click(&root, "show-qr");
    settle().await;
    let src = get(&root, "[data-testid=\"qr-code\"] img")
        .get_attribute("src")
        .unwrap();
    assert_eq!(
        src,
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR42mNgUPXKn7KT4R6zhm/RdAAcjwSL7JBtMAAAAABJRU5ErkJggg=="
    );
    assert_every_call_is_tagged(&fake);
}
