//! `Request`, the forms' background call, and `Loaded`, the pages' background
//! load, in a real browser event loop.
#![cfg(target_arch = "wasm32")]

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::oneshot;
use kmc_login::request::{Loaded, Request};
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

#[wasm_bindgen_test]
async fn a_load_reruns_on_its_signals_and_refetch_and_keeps_only_the_latest_value() {
    // Each load waits for its own gate; the value is the source signal's.
    let gates = Rc::new(RefCell::new(Vec::<oneshot::Sender<()>>::new()));
    let gates_ = gates.clone();
    let ((loaded, source), _page) = on_a_page(move || {
        let source = RwSignal::new(1u32);
        let loaded = Loaded::new(move || {
            let value = source.get();
            let (open, gate) = oneshot::channel();
            gates_.borrow_mut().push(open);
            async move {
                let _ = gate.await;
                value
            }
        });
        (loaded, source)
    });
    settle().await;
    assert_eq!(gates.borrow().len(), 1, "the first load starts at once");
    assert_eq!(loaded.get(), None);
    let _ = gates.borrow_mut().remove(0).send(());
    settle().await;
    assert_eq!(loaded.get(), Some(1));

    // A change starts a second load; the previous value stays until it ends.
    source.set(2);
    settle().await;
    assert_eq!(loaded.get(), Some(1));
    // A third (the change to 3) and a fourth (refetch) overtake it: the late
    // values of the older loads are dropped.
    source.set(3);
    settle().await;
    loaded.refetch();
    settle().await;
    assert_eq!(gates.borrow().len(), 3);
    let (second, third, fourth) = {
        let mut gates = gates.borrow_mut();
        let fourth = gates.pop().unwrap();
        let third = gates.pop().unwrap();
        (gates.pop().unwrap(), third, fourth)
    };
    let _ = fourth.send(());
    settle().await;
    assert_eq!(loaded.get(), Some(3));
    let _ = second.send(());
    let _ = third.send(());
    settle().await;
    assert_eq!(
        loaded.get(),
        Some(3),
        "an older load does not overwrite a newer"
    );
}
