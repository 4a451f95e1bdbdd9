//! [`Request`]: a call a form starts in the background, and whether it is
//! still in flight.
//!
//! This is the part of leptos' `Action` the pages use. `Action` also keeps
//! the input and the value in signals, numbers its dispatches and wraps each
//! future type in owner- and thread-checking layers; for the app's nine forms
//! that came to 7.9 KB of the wasm's brotli size. Here every future is
//! boxed once, so one spawned type serves them all, and what a request
//! produces the future writes to the page's own signals.
//!
//! A form sends one request at a time: a dispatch while one is in flight is
//! ignored, so a double click or Enter pressed twice cannot send twice.

use futures::future::LocalBoxFuture;
use leptos::prelude::*;

type Start<I> = Box<dyn Fn(I) -> LocalBoxFuture<'static, ()>>;

/// A form's background request. `Copy`, like signals, so views can capture it.
pub struct Request<I: 'static> {
    pending: RwSignal<bool>,
    start: StoredValue<Start<I>, LocalStorage>,
}

impl<I: 'static> Clone for Request<I> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I: 'static> Copy for Request<I> {}

impl<I: 'static> Request<I> {
    /// A request that runs `start(input)` on each dispatch.
    pub fn new<F, Fut>(start: F) -> Self
    where
        F: Fn(I) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let start: Start<I> = Box::new(move |input| Box::pin(start(input)));
        Self {
            pending: RwSignal::new(false),
            start: StoredValue::new_local(start),
        }
    }

    /// True from dispatch until the future has finished.
    pub fn pending(&self) -> ReadSignal<bool> {
        self.pending.read_only()
    }

    /// Starts the request with `input`, unless one is in flight or the page
    /// that owns it is gone.
    pub fn dispatch(&self, input: I) {
        if self.pending.try_get_untracked() != Some(false) {
            return;
        }
        if let Some(work) = self.start.try_with_value(|start| start(input)) {
            run(self.pending, work);
        }
    }
}

/// The one non-generic half of [`Request::dispatch`].
fn run(pending: RwSignal<bool>, work: LocalBoxFuture<'static, ()>) {
    pending.set(true);
    leptos::task::spawn_local(async move {
        work.await;
        // The page may have been left meanwhile; its signals are gone then.
        pending.try_set(false);
    });
}
