//! Work the server does after it has answered (the mail of a reset
//! request, a notice): spawned through [`Background`], which counts it, so
//! that a shutdown finishes it and a test can wait until it has all
//! finished instead of waiting an arbitrary time.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

/// The tasks running after their replies.
#[derive(Clone)]
pub struct Background {
    running: Arc<watch::Sender<usize>>,
}

impl Default for Background {
    fn default() -> Self {
        Self {
            running: Arc::new(watch::Sender::new(0)),
        }
    }
}

/// Counts its task as finished when dropped, however the task ends
/// (returned, panicked, or cancelled by the runtime's shutdown).
struct Finished(Arc<watch::Sender<usize>>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

impl Background {
    /// Runs `task` on the runtime, counted until it ends. The count rises
    /// before this returns, so work spawned while answering a request is
    /// counted by the time the reply is sent.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.running.send_modify(|n| *n += 1);
        let finished = Finished(self.running.clone());
        tokio::spawn(async move {
            let _finished = finished;
            task.await;
        });
    }

    /// Tasks running now.
    pub fn running(&self) -> usize {
        *self.running.borrow()
    }

    /// Returns once no task is running: every task spawned before this
    /// call has ended.
    pub async fn idle(&self) {
        let mut running = self.running.subscribe();
        // The sender lives as long as `self`: waiting cannot fail.
        let _ = running.wait_for(|n| *n == 0).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_returns_only_after_every_spawned_task_has_ended() {
        let background = Background::default();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, mut done) = tokio::sync::mpsc::unbounded_channel();
        background.spawn(async move {
            let _ = released.await;
            let _ = done_tx.send(());
        });
        assert_eq!(background.running(), 1);
        let waiting = tokio::spawn({
            let background = background.clone();
            async move { background.idle().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        release.send(()).unwrap();
        waiting.await.unwrap();
        assert!(done.try_recv().is_ok(), "the task ran to its end first");
        assert_eq!(background.running(), 0);
    }

    #[tokio::test]
    async fn a_task_that_panics_is_counted_as_ended() {
        let background = Background::default();
        background.spawn(async { panic!("a failing task") });
        background.idle().await;
        assert_eq!(background.running(), 0);
    }
}
