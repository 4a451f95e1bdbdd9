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
//!
//! [`Loaded`] does the same for leptos' `LocalResource` (the account page's
//! data and the password link's check): a signal written by a spawned, boxed
//! future, started again by an effect. It saved another 8.0 KB brotli.

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

/// A value loaded in the background when the page opens, and loaded again
/// when a signal that `load` reads changes or on [`Loaded::refetch`]: the part
/// of leptos' `LocalResource` the pages use. Until the first load finishes it
/// reads `None`; a reload keeps showing the previous value until it is
/// replaced, and only the latest load's value is kept.
pub struct Loaded<T: Send + Sync + 'static> {
    value: RwSignal<Option<T>>,
    reload: RwSignal<u32>,
}

impl<T: Send + Sync + 'static> Clone for Loaded<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Loaded<T> {}

impl<T: Send + Sync + 'static> Loaded<T> {
    /// Starts `load()` now, and again whenever what it reads changes.
    pub fn new<F, Fut>(load: F) -> Self
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = T> + 'static,
    {
        let value = RwSignal::new(None);
        let reload = RwSignal::new(0u32);
        // Counts the loads started, so a slower, older one cannot overwrite a newer.
        let started = StoredValue::new(0u32);
        Effect::new(move |_| {
            reload.track();
            let work = load();
            started.update_value(|n| *n += 1);
            let this = started.get_value();
            let work: LocalBoxFuture<'static, ()> = Box::pin(async move {
                let loaded = work.await;
                if started.try_get_value() == Some(this) {
                    value.try_set(Some(loaded));
                }
            });
            leptos::task::spawn_local(work);
        });
        Self { value, reload }
    }

    /// The latest value loaded, `None` before the first; tracked.
    pub fn get(&self) -> Option<T>
    where
        T: Clone,
    {
        self.value.get()
    }

    /// Loads again.
    pub fn refetch(&self) {
        self.reload.update(|n| *n = n.wrapping_add(1));
    }
}
