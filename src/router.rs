//! The app's own small router: the address bar's path as a signal, moves
//! through `history.pushState`, the back and forward buttons through
//! `popstate`, and [`Link`] for links the app draws.
//!
//! Why not `leptos_router`: the app has five fixed paths, two of them with one
//! key segment, and taking that crate out saved 28 KB brotli, 14 % of the wasm
//! (README, "What the bundle holds"). [`crate::routes::Route::parse`] reads
//! a path; [`crate::Pages`] draws the page for it.
//!
//! Moving to the same page again never redraws it (the route is a memo), and
//! changes to the address bar the app makes without [`Navigator`] (taking a
//! spent link key out with `replaceState`) leave the page as it is.

use leptos::prelude::*;

use crate::routes;

/// Moves between the app's pages. `Copy`, so event handlers take it freely.
#[derive(Clone, Copy)]
pub struct Navigator {
    path: RwSignal<String>,
}

impl Navigator {
    /// The current path, reactive.
    pub fn path(&self) -> String {
        self.path.get()
    }

    /// Opens `path` as a new history entry (what a followed link does), at the top of the page.
    pub fn go(&self, path: &str) {
        self.move_to(path, false);
    }

    /// Opens `path` in place of the current history entry, so the back button
    /// skips the page being left.
    pub fn replace(&self, path: &str) {
        self.move_to(path, true);
    }

    fn move_to(&self, path: &str, replace: bool) {
        #[cfg(target_arch = "wasm32")]
        if let Some(window) = web_sys::window() {
            if let Ok(history) = window.history() {
                let null = wasm_bindgen::JsValue::NULL;
                let _ = if replace {
                    history.replace_state_with_url(&null, "", Some(path))
                } else {
                    history.push_state_with_url(&null, "", Some(path))
                };
            }
            window.scroll_to_with_x_and_y(0.0, 0.0);
        }
        #[cfg(not(target_arch = "wasm32"))]
        let _ = replace;
        self.path.set(path.to_owned());
    }
}

/// Starts routing for everything under the current owner: reads the address
/// bar, follows the back and forward buttons, and provides the [`Navigator`].
pub fn provide_router() -> Navigator {
    let navigator = Navigator {
        path: RwSignal::new(current_path()),
    };
    #[cfg(target_arch = "wasm32")]
    {
        let handle = window_event_listener(leptos::ev::popstate, move |_| {
            navigator.path.set(current_path());
        });
        on_cleanup(move || handle.remove());
    }
    provide_context(navigator);
    navigator
}

/// The [`Navigator`] that [`provide_router`] set up.
pub fn use_navigator() -> Navigator {
    expect_context()
}

/// The address bar's path, decoded as far as `decodeURI` goes. `/` becomes
/// [`routes::LOGIN`] at once, in place, so the back button never lands on a
/// bare redirect.
fn current_path() -> String {
    #[cfg(target_arch = "wasm32")]
    {
        let Some(window) = web_sys::window() else {
            return routes::LOGIN.to_owned();
        };
        let raw = window.location().pathname().unwrap_or_default();
        let path = js_sys::decode_uri(&raw)
            .ok()
            .and_then(|p| p.as_string())
            .unwrap_or(raw);
        if routes::Route::parse(&path) == routes::Route::Root {
            if let Ok(history) = window.history() {
                let _ = history.replace_state_with_url(
                    &wasm_bindgen::JsValue::NULL,
                    "",
                    Some(routes::LOGIN),
                );
            }
            return routes::LOGIN.to_owned();
        }
        path
    }
    #[cfg(not(target_arch = "wasm32"))]
    routes::LOGIN.to_owned()
}

/// A link to one of the app's pages: a real `href` (so it can be opened in a
/// new tab, copied, or followed without the app), while a plain left click
/// moves within the app without reloading it.
#[component]
pub fn Link(
    /// The app path the link opens.
    href: &'static str,
    /// The link's content.
    children: Children,
) -> impl IntoView {
    let navigator = use_navigator();
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let modified = ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key();
        if ev.button() == 0 && !modified && !ev.default_prevented() {
            ev.prevent_default();
            navigator.go(href);
        }
    };
    view! { <a href=href on:click=on_click>{children()}</a> }
}
