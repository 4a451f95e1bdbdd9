//! Shared by the enrollment and set-password browser tests: a fake
//! [`Transport`] that answers each action with one recorded Kaltura-shaped
//! body and remembers which actions were called, and the mounted page with
//! its finders (by id or `data-testid`, never by walking the DOM).

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use kmc_login::api::{ApiClient, Transport, TransportError, provide_api};
use kmc_login::config::AppConfig;
use kmc_login::session::provide_login_prefill;
use leptos::prelude::*;
use leptos::tachys::view::any_view::AnyView;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlInputElement};

/// Answers each action with a recorded body and remembers the calls.
#[derive(Default)]
pub struct FakeKaltura {
    pub replies: RefCell<HashMap<&'static str, Result<String, TransportError>>>,
    calls: RefCell<Vec<String>>,
}

impl FakeKaltura {
    pub fn answering(replies: &[(&'static str, Result<&str, TransportError>)]) -> Rc<Self> {
        let fake = Rc::new(Self::default());
        for (action, reply) in replies {
            fake.replies
                .borrow_mut()
                .insert(action, reply.map(str::to_owned));
        }
        fake
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }
}

pub struct SharedFake(pub Rc<FakeKaltura>);

impl Transport for SharedFake {
    fn post(
        &self,
        url: String,
        _body: String,
    ) -> LocalBoxFuture<'static, Result<String, TransportError>> {
        // ".../service/user/action/generateQrCode?format=1" -> "generateQrCode"
        let action = url
            .split("/action/")
            .nth(1)
            .and_then(|rest| rest.split('?').next())
            .unwrap_or_default()
            .to_owned();
        self.0.calls.borrow_mut().push(action.clone());
        let reply = self
            .0
            .replies
            .borrow()
            .get(action.as_str())
            .cloned()
            .unwrap_or(Err(TransportError::Network));
        Box::pin(async move { reply })
    }
}

/// Opens `path` and mounts `routes` (a router with the pages under test) into a
/// fresh element, with the fake as the API and the app's other contexts.
pub fn mount_at(
    path: &str,
    fake: &Rc<FakeKaltura>,
    routes: impl FnOnce() -> AnyView + 'static,
) -> Mounted {
    let window = web_sys::window().unwrap();
    window
        .history()
        .unwrap()
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path))
        .unwrap();
    let document = window.document().unwrap();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    let client = ApiClient::new("http://kaltura.test", Rc::new(SharedFake(fake.clone())));
    let handle = leptos::mount::mount_to(root.clone().unchecked_into(), move || {
        provide_api(client);
        provide_context(AppConfig::defaults("http://kaltura.test"));
        provide_login_prefill();
        routes()
    });
    Mounted {
        root,
        _handle: handle,
    }
}

/// The app under test, mounted into its own element; unmounted when dropped.
pub struct Mounted {
    pub root: Element,
    pub _handle: leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.root.remove();
    }
}

impl Mounted {
    pub fn find(&self, selector: &str) -> Option<Element> {
        self.root.query_selector(selector).ok().flatten()
    }

    pub fn get(&self, selector: &str) -> Element {
        self.find(selector)
            .unwrap_or_else(|| panic!("no element matches {selector}"))
    }

    pub fn by_test_id(&self, test_id: &str) -> Element {
        self.get(&format!("[data-testid=\"{test_id}\"]"))
    }

    pub fn text(&self, test_id: &str) -> String {
        self.by_test_id(test_id).text_content().unwrap_or_default()
    }

    pub fn click(&self, test_id: &str) {
        self.by_test_id(test_id)
            .dyn_into::<HtmlElement>()
            .unwrap()
            .click();
    }

    pub fn type_into(&self, selector: &str, value: &str) {
        let input: HtmlInputElement = self.get(selector).dyn_into().unwrap();
        input.set_value(value);
        input
            .dispatch_event(&web_sys::Event::new("input").unwrap())
            .unwrap();
    }
}

/// Lets Leptos run spawned tasks and update the DOM.
pub async fn settle() {
    for _ in 0..5 {
        leptos::task::tick().await;
        gloo_timers::future::TimeoutFuture::new(0).await;
    }
}

pub fn pathname() -> String {
    web_sys::window().unwrap().location().pathname().unwrap()
}
