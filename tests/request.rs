//! `Request`, the forms' background call, in a real browser event loop.
#![cfg(target_arch = "wasm32")]

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::oneshot;
use kmc_login::request::Request;
use leptos::prelude::*;
use support::settle;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Runs `make` as the body of a mounted (empty) page, as pages create their
/// requests; dropping the handle leaves the page.
fn on_a_page<T: 'static>(make: impl FnOnce() -> T + 'static) -> (T, impl Drop) {
    let slot = Rc::new(RefCell::new(None));
    let fill = slot.clone();
    let parent = document().create_element("div").unwrap();
    let handle = leptos::mount::mount_to(parent.unchecked_into(), move || {
        *fill.borrow_mut() = Some(make());
    });
    let made = slot.borrow_mut().take().expect("the page ran");
    (made, handle)
}

#[wasm_bindgen_test]
async fn one_request_runs_at_a_time_and_pending_clears_when_it_ends() {
    // Each run waits for its own gate; `inputs` records what was started.
    let inputs = Rc::new(RefCell::new(Vec::<u32>::new()));
    let gates = Rc::new(RefCell::new(Vec::<oneshot::Sender<()>>::new()));
    let (inputs_, gates_) = (inputs.clone(), gates.clone());
    let ((request, done), _page) = on_a_page(move || {
        let (inputs, gates) = (inputs_, gates_);
        let done = RwSignal::new(0);
        let request = Request::new(move |input: u32| {
            inputs.borrow_mut().push(input);
            let (open, gate) = oneshot::channel();
            gates.borrow_mut().push(open);
            async move {
                let _ = gate.await;
                done.update(|n| *n += 1);
            }
        });
        (request, done)
    });
    let pending = request.pending();
    assert!(!pending.get_untracked());

    request.dispatch(1);
    request.dispatch(2);
    settle().await;
    assert_eq!(*inputs.borrow(), [1], "the second dispatch was ignored");
    assert!(pending.get_untracked());

    let _ = gates.borrow_mut().remove(0).send(());
    settle().await;
    assert_eq!(done.get_untracked(), 1);
    assert!(!pending.get_untracked());

    request.dispatch(3);
    assert_eq!(
        *inputs.borrow(),
        [1, 3],
        "a new dispatch runs once the first ended"
    );
    let _ = gates.borrow_mut().remove(0).send(());
    settle().await;
    assert_eq!(done.get_untracked(), 2);
    assert!(!pending.get_untracked());
}

#[wasm_bindgen_test]
async fn a_request_whose_page_is_gone_neither_starts_nor_fails() {
    let started = Rc::new(RefCell::new(0));
    let count = started.clone();
    let (request, page) = on_a_page(move || {
        Request::new(move |()| {
            *count.borrow_mut() += 1;
            async {}
        })
    });
    drop(page);
    request.dispatch(());
    settle().await;
    assert_eq!(*started.borrow(), 0);
}
