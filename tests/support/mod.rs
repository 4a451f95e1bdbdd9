//! Shared by the browser tests: a fake [`Transport`] that answers with
//! recorded Kaltura-shaped reply bodies (the only fake the project allows),
//! mounting the pages under a real router into a fresh element, and finding
//! nodes by id, `data-testid` or selector, never by walking the DOM.

// Each test file uses a different subset of these helpers, so "unused" depends
// on the file: `expect` would fail in one file or the other.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use kmc_login::api::{ApiClient, Transport, TransportError, provide_api};
use kmc_login::config::AppConfig;
use kmc_login::session::{LoginPrefill, provide_login_prefill};
use leptos::prelude::*;
use leptos::tachys::view::any_view::AnyViewState;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, EventInit, HtmlElement, HtmlInputElement};

/// One recorded reply.
#[derive(Clone)]
pub enum Reply {
    /// The reply body, at once.
    Body(String),
    /// The reply body after a delay (to see the pending state).
    Delayed(u32, String),
    /// No reply body: the network failed or timed out.
    Fail(TransportError),
}

/// Per `service.action`, the replies still to give.
type ReplyQueues = Vec<(String, VecDeque<Reply>)>;

/// A server stand-in: per action, a queue of recorded replies; every request
/// is kept so tests can check what the app sent.
#[derive(Clone, Default)]
pub struct FakeKaltura {
    replies: Rc<RefCell<ReplyQueues>>,
    /// `(service.action, JSON body)` of every request, in order.
    pub calls: Rc<RefCell<Vec<(String, serde_json::Value)>>>,
}

impl FakeKaltura {
    /// A fake with one reply queued per `(service.action, reply)`, in order.
    pub fn answering(replies: &[(&str, Result<&str, TransportError>)]) -> Self {
        let fake = Self::default();
        for (action, reply) in replies {
            fake.push(
                action,
                match reply {
                    Ok(body) => Reply::Body((*body).to_owned()),
                    Err(e) => Reply::Fail(*e),
                },
            );
        }
        fake
    }

    /// The `service.action` of every request, in order.
    pub fn actions(&self) -> Vec<String> {
        self.calls.borrow().iter().map(|(a, _)| a.clone()).collect()
    }

    /// Queues a reply body for `service.action`.
    pub fn reply(&self, action: &str, body: &str) -> &Self {
        self.push(action, Reply::Body(body.to_owned()))
    }

    /// Queues any reply for `service.action`.
    pub fn push(&self, action: &str, reply: Reply) -> &Self {
        let mut replies = self.replies.borrow_mut();
        match replies.iter_mut().find(|(a, _)| a == action) {
            Some((_, queue)) => queue.push_back(reply),
            None => replies.push((action.to_owned(), VecDeque::from([reply]))),
        }
        self
    }

    /// The bodies sent to `service.action`.
    pub fn sent(&self, action: &str) -> Vec<serde_json::Value> {
        self.calls
            .borrow()
            .iter()
            .filter(|(a, _)| a == action)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// How many requests went to `service.action`.
    pub fn count(&self, action: &str) -> usize {
        self.sent(action).len()
    }
}

/// `https://host/api_v3/service/user/action/get?format=1` → `user.get`.
fn action_of(url: &str) -> String {
    let path = url.split("/api_v3/service/").nth(1).unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default();
    path.replace("/action/", ".")
}

impl Transport for FakeKaltura {
    fn post(
        &self,
        url: String,
        body: String,
    ) -> LocalBoxFuture<'static, Result<String, TransportError>> {
        let action = action_of(&url);
        self.calls.borrow_mut().push((
            action.clone(),
            serde_json::from_str(&body).expect("the app sends JSON"),
        ));
        let reply = self
            .replies
            .borrow_mut()
            .iter_mut()
            .find(|(a, _)| *a == action)
            .and_then(|(_, queue)| queue.pop_front());
        Box::pin(async move {
            match reply {
                Some(Reply::Body(body)) => Ok(body),
                Some(Reply::Delayed(ms, body)) => {
                    gloo_timers::future::TimeoutFuture::new(ms).await;
                    Ok(body)
                }
                Some(Reply::Fail(e)) => Err(e),
                None => Ok(format!(
                    r#"{{"code":"NO_RECORDED_REPLY","message":"no recorded reply for {action}","objectType":"KalturaAPIException","args":[]}}"#
                )),
            }
        })
    }
}

/// A Kaltura error body with `args` as `[]`.
pub fn error(code: &str, message: &str) -> String {
    format!(
        r#"{{"code":"{code}","message":"{message}","objectType":"KalturaAPIException","args":[]}}"#
    )
}

/// A Kaltura error body with `args` as an object.
pub fn error_with_args(code: &str, message: &str, args: &str) -> String {
    format!(
        r#"{{"code":"{code}","message":"{message}","objectType":"KalturaAPIException","args":{args}}}"#
    )
}

/// The first element inside `root` that matches a CSS selector, if any.
pub fn find(root: &Element, selector: &str) -> Option<Element> {
    root.query_selector(selector).unwrap()
}

/// The first element inside `root` that matches a CSS selector.
pub fn get(root: &Element, selector: &str) -> Element {
    find(root, selector).unwrap_or_else(|| panic!("no element matches {selector}"))
}

/// The element with this `data-testid` inside `root`.
pub fn by_test_id(root: &Element, id: &str) -> Element {
    find_test_id(root, id).unwrap_or_else(|| panic!("no element with data-testid={id}"))
}

/// The element with this `data-testid`, if present.
pub fn find_test_id(root: &Element, id: &str) -> Option<Element> {
    find(root, &format!("[data-testid=\"{id}\"]"))
}

/// The element with this id inside `root`.
pub fn by_id(root: &Element, id: &str) -> Element {
    get(root, &format!("#{id}"))
}

/// The input with this id.
pub fn input(root: &Element, id: &str) -> HtmlInputElement {
    by_id(root, id).unchecked_into()
}

/// Types `text` into the input as a user (or a paste) would: sets the value
/// and fires a bubbling `input` event.
pub fn type_into(root: &Element, id: &str, text: &str) {
    let field = input(root, id);
    field.set_value(text);
    let init = EventInit::new();
    init.set_bubbles(true);
    let event = Event::new_with_event_init_dict("input", &init).unwrap();
    field.dispatch_event(&event).unwrap();
}

/// Releases a key in the input with this id, with Caps Lock on or off, as a
/// keyboard would report it (`getModifierState("CapsLock")`).
pub fn key_up(root: &Element, id: &str, caps_lock: bool) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_bubbles(true);
    init.set_key("a");
    init.set_modifier_caps_lock(caps_lock);
    let event = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keyup", &init).unwrap();
    input(root, id).dispatch_event(&event).unwrap();
}

/// Submits the form `selector` finds the way Enter in one of its fields
/// does, but even while its submit button is disabled (a browser stops Enter
/// there; the page must not rely on it).
pub fn press_enter(root: &Element, selector: &str) {
    get(root, selector)
        .unchecked_into::<web_sys::HtmlFormElement>()
        .request_submit()
        .unwrap();
}

/// Ticks the checkbox with this id.
pub fn check(root: &Element, id: &str) {
    let field = input(root, id);
    field.click();
}

/// Clicks the element with this `data-testid`.
pub fn click(root: &Element, test_id: &str) {
    by_test_id(root, test_id)
        .unchecked_into::<HtmlElement>()
        .click();
}

/// The trimmed text of the element with this `data-testid`.
pub fn text(root: &Element, test_id: &str) -> String {
    by_test_id(root, test_id)
        .text_content()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// True when the button with this `data-testid` is disabled.
pub fn is_disabled(root: &Element, test_id: &str) -> bool {
    by_test_id(root, test_id).has_attribute("disabled")
}

/// The id of the focused element.
pub fn focused_id() -> String {
    web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .active_element()
        .map(|e| e.id())
        .unwrap_or_default()
}

/// The `data-testid` of the focused element (empty when it has none).
pub fn focused_test_id() -> String {
    web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .active_element()
        .and_then(|e| e.get_attribute("data-testid"))
        .unwrap_or_default()
}

/// Lets Leptos run its effects and the app's zero-delay focus timers.
pub async fn settle() {
    for _ in 0..4 {
        leptos::task::tick().await;
    }
    gloo_timers::future::TimeoutFuture::new(20).await;
    for _ in 0..2 {
        leptos::task::tick().await;
    }
}

/// Waits (polling) until `done` holds, up to about two seconds.
pub async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        gloo_timers::future::TimeoutFuture::new(20).await;
        leptos::task::tick().await;
    }
    assert!(done(), "condition not reached in time");
}

/// The browser's `sessionStorage`.
pub fn session_storage() -> web_sys::Storage {
    web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap()
}

/// The browser's `localStorage`.
pub fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

/// Starts each test from a signed-out, nothing-remembered browser.
pub fn clear_storage() {
    session_storage().clear().unwrap();
    local_storage().clear().unwrap();
}

/// Sets the address bar's path without reloading (what the router reads).
pub fn set_path(path: &str) {
    web_sys::window()
        .unwrap()
        .history()
        .unwrap()
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path))
        .unwrap();
}

/// The address bar's current path.
pub fn current_path() -> String {
    web_sys::window().unwrap().location().pathname().unwrap()
}

/// A page under test: the app mounted into its own element with the fake as
/// its server. Derefs to that element; dropping it unmounts the app and
/// removes the element, so no test sees another's nodes.
pub struct Mounted {
    pub root: HtmlElement,
    /// The sign-in prefill the pages share (what "Continue to sign in" fills).
    pub prefill: RwSignal<LoginPrefill>,
    _app: leptos::mount::UnmountHandle<AnyViewState>,
}

impl std::ops::Deref for Mounted {
    type Target = HtmlElement;

    fn deref(&self) -> &HtmlElement {
        &self.root
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.root.remove();
    }
}

/// leptos_router hands the first `Router` of a page's lifetime to a process-wide hook (the
/// server-function redirect hook, set once), which keeps that router alive with its window
/// listeners after its test unmounts it: it would then take the link clicks of every later
/// test. A first router that never mounts a page, under a base no link points into, holds
/// that hook instead and lets every click through. Call it before mounting a whole `App`.
pub fn hold_the_routers_process_wide_hook() {
    thread_local! {
        static HELD: std::cell::OnceCell<()> = const { std::cell::OnceCell::new() };
    }
    HELD.with(|held| {
        held.get_or_init(|| {
            let document = web_sys::window().unwrap().document().unwrap();
            let parent: HtmlElement = document.create_element("div").unwrap().unchecked_into();
            let handle = leptos::mount::mount_to(parent, || {
                view! { <leptos_router::components::Router base="/no-page-of-the-app">{""}</leptos_router::components::Router> }
            });
            std::mem::forget(handle);
        });
    });
}

/// Opens `path` and mounts the app's routes under leptos_router's `Router`, as the app does,
/// with the fake as the API and the app's other contexts.
pub fn mount_app(fake: &FakeKaltura, path: &str, config: AppConfig) -> Mounted {
    let document = web_sys::window().unwrap().document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    hold_the_routers_process_wide_hook();
    let client = ApiClient::new("http://kaltura.test", Rc::new(fake.clone()));
    set_path(path);
    let (tx, rx) = std::sync::mpsc::channel();
    let app = leptos::mount::mount_to(root.clone(), move || {
        provide_api(client);
        provide_context(config);
        tx.send(provide_login_prefill()).unwrap();
        view! {
            <leptos_router::components::Router>
                <kmc_login::routes::AppRoutes />
            </leptos_router::components::Router>
        }
        .into_any()
    });
    Mounted {
        root,
        prefill: rx.recv().unwrap(),
        _app: app,
    }
}
