//! Every page in every language of the table, in headless Chromium: no key
//! left untranslated, no English sentence on a non-English page, `<html lang
//! dir>` following the choice (`dir="rtl"` for Hebrew), and the picker
//! offering the table, switching a page live and remembering the choice. A
//! throwaway eighth language added to the table goes through the same pages
//! and the picker.
//!
//! The language files are built in from the source tree (the test runner
//! serves no `locales/`); the end-to-end suite covers fetching them from a
//! real `dist/`.
#![cfg(target_arch = "wasm32")]

mod support;
mod throwaway;

use std::collections::BTreeMap;

use kmc_login::config::AppConfig;
use kmc_login::i18n::{self, Lang};
use leptos::prelude::*;
use support::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const LOGIN: &str = "user.loginByLoginId";
const HASH_KEY: &str = "bGFuZ3VhZ2UtdGVzdC1saW5rLWtleQ";
const OTPAUTH: &str = "\"otpauth://totp/Kaltura:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Kaltura&algorithm=SHA1&digits=6&period=30\"";
const QR_REPLY: &str = r#"{"objectType":"KalturaAuthentication","qrCode":"otpauth://totp/Kaltura:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Kaltura&algorithm=SHA1&digits=6&period=30"}"#;
const USER: &str = r#"{"objectType":"KalturaUser","id":"ada@example.com","partnerId":100,"email":"ada@example.com","firstName":"Ada","lastName":"Lovelace","fullName":"Ada Lovelace","isAdmin":true}"#;
const SANDBOX: &str =
    r#"{"objectType":"KalturaPartner","id":100,"name":"Demo Sandbox","status":1}"#;
const LIST: &str = r#"{"objectType":"KalturaPartnerListResponse","objects":[{"objectType":"KalturaPartner","id":100,"name":"Demo Sandbox"},{"objectType":"KalturaPartner","id":101,"name":"Demo Media"}],"totalCount":2}"#;

/// Builds [`file`] from the language table: a line there is a file here.
macro_rules! shipped_files {
    ($($id:ident $tag:literal $name:literal $dir:ident;)*) => {
        /// The language file of `lang`, as shipped (the throwaway's made).
        fn file(lang: Lang) -> String {
            $(
                if lang == Lang::$id {
                    let text = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/locales/", $tag, ".json"));
                    return text.to_owned();
                }
            )*
            assert_eq!(lang, throwaway::throwaway(), "a language outside the table");
            throwaway::file()
        }
    };
}
kmc_login::language_table!(shipped_files);

fn messages(lang: Lang) -> BTreeMap<String, String> {
    serde_json::from_str(&file(lang)).unwrap()
}

/// Switches the app to `lang` as the picker would once the file is loaded.
fn use_language(lang: Lang) {
    i18n::install(lang, &file(lang)).unwrap();
    i18n::set_language(lang);
}

/// Everything a person can see or hear on the page: its text, the names and
/// descriptions in attributes, and the document title.
fn perceivable(root: &web_sys::Element) -> String {
    let mut all = root.text_content().unwrap_or_default();
    let named = root
        .query_selector_all("[aria-label],[alt],[title],[placeholder]")
        .unwrap();
    for i in 0..named.length() {
        let element: web_sys::Element = named.item(i).unwrap().unchecked_into();
        for attribute in ["aria-label", "alt", "title", "placeholder"] {
            if let Some(value) = element.get_attribute(attribute) {
                all.push('\n');
                all.push_str(&value);
            }
        }
    }
    let document = web_sys::window().unwrap().document().unwrap();
    all.push('\n');
    all.push_str(&document.title());
    all
}

/// Checks one rendered state in `lang`: no key shows, and (but in English)
/// no English sentence is left where the language has its own.
fn assert_translated(lang: Lang, state: &str, root: &web_sys::Element) {
    let shown = perceivable(root);
    let en = messages(Lang::En);
    for key in en.keys() {
        let key = key.split('#').next().unwrap();
        assert!(
            !shown.contains(key),
            "{} {state}: the key {key} shows untranslated:\n{shown}",
            lang.tag()
        );
    }
    if lang == Lang::En {
        return;
    }
    // Every language has its own words for every sentence, so a file that
    // copied English is caught too (short names like "Type" may coincide).
    for (key, english) in &en {
        // The English sentence between its placeholders, where long enough
        // to be a sentence rather than a name.
        for fragment in english.split(['{', '}']).step_by(2) {
            let fragment = fragment.trim();
            if fragment.len() >= 8 && fragment.contains(' ') {
                assert!(
                    !shown.contains(fragment),
                    "{} {state}: English left on the page ({key}): {fragment:?}\n{shown}",
                    lang.tag()
                );
            }
        }
    }
    let html = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .document_element()
        .unwrap();
    assert_eq!(html.get_attribute("lang").as_deref(), Some(lang.tag()));
    assert_eq!(
        html.get_attribute("dir").as_deref(),
        Some(lang.dir().attribute()),
        "{}",
        lang.tag()
    );
}

fn mount_pages(fake: &FakeKaltura, path: &str) -> Mounted {
    mount_app(fake, path, AppConfig::default())
}

/// Renders each state of each page in `lang` and checks it.
async fn every_page_in(lang: Lang) {
    clear_storage();
    use_language(lang);

    // Sign-in: the card, "Forgot password?", the code step with an alert.
    let fake = FakeKaltura::default();
    fake.reply(LOGIN, &error("MISSING_OTP", "OTP is missing"));
    let root = mount_pages(&fake, "/login");
    settle().await;
    click(&root, "forgot-password");
    settle().await;
    assert_translated(lang, "sign-in", &root);
    type_into(&root, "login-email", "ada@example.com");
    type_into(&root, "login-password", "correct horse battery");
    click(&root, "login-submit");
    until(|| !input(&root, "login-otp").disabled()).await;
    settle().await;
    assert_translated(lang, "code step", &root);
    click(&root, "login-submit");
    settle().await;
    assert!(!text(&root, "login-alert").is_empty());
    key_up(&root, "login-password", true);
    settle().await;
    assert!(!text(&root, "login-password-caps-lock").is_empty());
    assert_translated(lang, "code step alert, Caps Lock on", &root);
    // "Lost your authenticator?": the reset request.
    click(&root, "lost-authenticator-link");
    until(|| find_test_id(&root, "reset-request-page").is_some()).await;
    assert_translated(lang, "reset request", &root);
    drop(root);

    // The expired-password step.
    let fake = FakeKaltura::default();
    fake.reply(LOGIN, &error("PASSWORD_EXPIRED", "expired"));
    let root = mount_pages(&fake, "/login");
    settle().await;
    type_into(&root, "login-email", "ada@example.com");
    type_into(&root, "login-password", "correct horse battery");
    click(&root, "login-submit");
    until(|| find_test_id(&root, "expired-form").is_some()).await;
    assert_translated(lang, "expired password", &root);
    drop(root);

    // Enrollment: the intro, then the key with "Can't scan it?" open and a
    // checked code.
    let fake = FakeKaltura::default();
    fake.reply("user.generateQrCode", OTPAUTH);
    let root = mount_pages(&fake, &format!("/actions/auth-info/{HASH_KEY}"));
    settle().await;
    assert_translated(lang, "enrollment intro", &root);
    click(&root, "show-qr");
    until(|| find_test_id(&root, "qr-code").is_some()).await;
    click(&root, "cant-scan");
    type_into(&root, "check-code", "000000");
    click(&root, "check-code-submit");
    settle().await;
    assert!(!text(&root, "check-code-result").is_empty());
    assert_translated(lang, "enrollment key", &root);
    drop(root);

    // A dead enrollment link.
    let fake = FakeKaltura::default();
    fake.reply(
        "user.generateQrCode",
        &error("INVALID_HASH", "Invalid hash"),
    );
    let root = mount_pages(&fake, &format!("/actions/auth-info/{HASH_KEY}"));
    settle().await;
    click(&root, "show-qr");
    until(|| find_test_id(&root, "link-invalid").is_some()).await;
    assert_translated(lang, "dead enrollment link", &root);
    drop(root);

    // The set-password page: the rules while typing, then the new key.
    let fake = FakeKaltura::default();
    fake.reply(
        "user.validateHashKey",
        r#"{"objectType":"KalturaAuthentication"}"#,
    )
    .reply("user.setInitialPassword", QR_REPLY);
    let root = mount_pages(&fake, &format!("/actions/restore-password/{HASH_KEY}"));
    until(|| find(&root, "#new-password").is_some()).await;
    type_into(&root, "new-password", "short");
    click(&root, "set-password-submit");
    settle().await;
    assert_translated(lang, "set password", &root);
    type_into(&root, "new-password", "correct horse battery");
    type_into(&root, "confirm-password", "correct horse battery");
    click(&root, "set-password-submit");
    until(|| find_test_id(&root, "old-authenticator-warning").is_some()).await;
    assert_translated(lang, "password set with a new key", &root);
    drop(root);

    // The account page with another account to switch to.
    clear_storage();
    session_storage().set_item("kmc.ks", "ks-lang").unwrap();
    let fake = FakeKaltura::default();
    fake.reply("user.get", USER)
        .reply("partner.getInfo", SANDBOX)
        .reply("partner.listPartnersForUser", LIST);
    let root = mount_pages(&fake, "/account");
    until(|| find_test_id(&root, "switch-account-101").is_some()).await;
    assert_translated(lang, "account", &root);
    drop(root);
    clear_storage();
}

/// Leaves English for the tests that follow in this browser.
fn back_to_english() {
    i18n::set_language(Lang::En);
    clear_storage();
}

#[wasm_bindgen_test]
async fn every_page_in_every_language_of_the_table_is_in_that_language() {
    for lang in Lang::ALL {
        every_page_in(lang).await;
    }
    back_to_english();
}

#[wasm_bindgen_test]
async fn hebrew_is_right_to_left() {
    use_language(Lang::He);
    let html = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .document_element()
        .unwrap();
    assert_eq!(html.get_attribute("lang").as_deref(), Some("he"));
    assert_eq!(html.get_attribute("dir").as_deref(), Some("rtl"));
    back_to_english();
}

#[wasm_bindgen_test]
async fn every_page_in_a_throwaway_eighth_language_is_in_it_and_right_to_left() {
    every_page_in(throwaway::throwaway()).await;
    back_to_english();
}

/// The picker's `<select>` under `root`.
fn picker(root: &web_sys::Element) -> web_sys::HtmlSelectElement {
    by_id(root, "language").unchecked_into()
}

/// Chooses `tag` in the picker as a person would.
fn pick(root: &web_sys::Element, tag: &str) {
    let picker = picker(root);
    picker.set_value(tag);
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    picker
        .dispatch_event(&web_sys::Event::new_with_event_init_dict("change", &init).unwrap())
        .unwrap();
}

#[wasm_bindgen_test]
async fn the_picker_offers_the_table_with_a_throwaway_eighth_language_and_switches_to_it() {
    clear_storage();
    let eighth = throwaway::throwaway();
    // Loaded as the picker's fetch would (the runner serves no locales/).
    i18n::install(eighth, &file(eighth)).unwrap();
    let document = web_sys::window().unwrap().document().unwrap();
    let root: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let table = throwaway::table();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        view! { <kmc_login::components::language_picker::LanguagePicker languages=table /> }
    });
    settle().await;
    let options = root.query_selector_all("#language option").unwrap();
    let offered: Vec<(String, String, String)> = (0..options.length())
        .map(|i| {
            let option: web_sys::Element = options.item(i).unwrap().unchecked_into();
            let attribute = |name| option.get_attribute(name).unwrap_or_default();
            (
                attribute("value"),
                attribute("lang"),
                option.text_content().unwrap_or_default(),
            )
        })
        .collect();
    let wanted: Vec<(String, String, String)> = table
        .iter()
        .map(|l| (l.tag().to_owned(), l.tag().to_owned(), l.name().to_owned()))
        .collect();
    assert_eq!(offered, wanted, "one option per line of the table");

    pick(&root, throwaway::TAG);
    until(|| i18n::current() == eighth).await;
    let html = document.document_element().unwrap();
    assert_eq!(html.get_attribute("lang").as_deref(), Some(throwaway::TAG));
    assert_eq!(html.get_attribute("dir").as_deref(), Some("rtl"));
    assert_eq!(
        root.query_selector("label[for=language]")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        messages(eighth)["lang.label"]
    );
    assert_eq!(
        local_storage().get_item(i18n::LANG_KEY).unwrap().as_deref(),
        Some(throwaway::TAG)
    );
    assert_eq!(picker(&root).value(), throwaway::TAG);

    drop(handle);
    root.remove();
    back_to_english();
}

#[wasm_bindgen_test]
async fn the_picker_shows_the_language_the_page_opens_in() {
    clear_storage();
    use_language(Lang::De);
    set_path("/nowhere");
    let document = web_sys::window().unwrap().document().unwrap();
    let root: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    hold_the_routers_process_wide_hook();
    let handle = leptos::mount::mount_to(root.clone(), || {
        view! { <kmc_login::App config=AppConfig::default() /> }
    });
    settle().await;
    assert_eq!(picker(&root).value(), "de");
    drop(handle);
    root.remove();
    back_to_english();
}

#[wasm_bindgen_test]
async fn the_picker_switches_the_page_live_and_remembers_the_choice() {
    clear_storage();
    i18n::install(Lang::De, &file(Lang::De)).unwrap();
    set_path("/nowhere");
    let document = web_sys::window().unwrap().document().unwrap();
    let root: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    hold_the_routers_process_wide_hook();
    let handle = leptos::mount::mount_to(root.clone(), || {
        view! { <kmc_login::App config=AppConfig::default() /> }
    });
    settle().await;
    // The fallback page, with the picker under it.
    assert_translated(Lang::En, "not found", &root);
    assert_eq!(picker(&root).value(), "en");
    // Every language of the table is offered.
    assert_eq!(picker(&root).length() as usize, Lang::ALL.len());

    pick(&root, "de");
    settle().await;
    assert_eq!(i18n::current(), Lang::De);
    assert_translated(Lang::De, "not found", &root);
    assert!(
        root.text_content()
            .unwrap()
            .contains("Seite nicht gefunden")
    );
    assert_eq!(
        local_storage().get_item(i18n::LANG_KEY).unwrap().as_deref(),
        Some("de")
    );
    // A stored choice wins over the browser's languages next time.
    assert_eq!(i18n::preferred_language(), Some(Lang::De));

    drop(handle);
    root.remove();
    back_to_english();
}
