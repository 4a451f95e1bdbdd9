//! A keyboard alone: Tab, Shift+Tab, typing, Space and Enter, sent through
//! WebDriver's input actions to whatever has the focus, the way a person's
//! keyboard reaches the page. Nothing here clicks or focuses an element.

use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;

use crate::browser::{Browser, STEP_TIMEOUT};

/// How many presses of Tab may separate two controls before the test calls
/// the page's Tab order broken (the longest path, the sign-in card from the
/// alert to the code field, takes five).
const MOST_TABS: usize = 12;

/// The keyboard of one browser session.
pub struct Keyboard<'a> {
    browser: &'a Browser,
}

impl<'a> Keyboard<'a> {
    /// The keyboard of `browser`.
    pub fn of(browser: &'a Browser) -> Self {
        Self { browser }
    }

    async fn send(&self, keys: impl IntoIterator<Item = KeyAction>) {
        let actions = keys
            .into_iter()
            .fold(KeyActions::new("keyboard".into()), InputSource::then);
        self.browser
            .client
            .perform_actions(actions)
            .await
            .unwrap_or_else(|e| panic!("the keyboard failed: {e}"));
    }

    fn stroke(key: char) -> [KeyAction; 2] {
        [KeyAction::Down { value: key }, KeyAction::Up { value: key }]
    }

    /// Types `text`, one key at a time, into whatever has the focus.
    pub async fn type_text(&self, text: &str) {
        self.send(text.chars().flat_map(Self::stroke)).await;
    }

    /// Presses one key: `Key::Tab`, `Key::Enter`, or a
    /// character such as `' '`.
    pub async fn press(&self, key: impl Into<char>) {
        self.send(Self::stroke(key.into())).await;
    }

    /// Presses Shift+Tab.
    pub async fn shift_tab(&self) {
        let (shift, tab) = (char::from(Key::Shift), char::from(Key::Tab));
        self.send([
            KeyAction::Down { value: shift },
            KeyAction::Down { value: tab },
            KeyAction::Up { value: tab },
            KeyAction::Up { value: shift },
        ])
        .await;
    }

    /// The focused element, named by its `id`, else its `data-testid`, else
    /// its tag (`BODY` when nothing has the focus).
    pub async fn focused(&self) -> String {
        self.browser
            .js("const e = document.activeElement; \
                 return !e ? '' : (e.id || e.getAttribute('data-testid') || e.tagName);")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until the focus is on `target` (an `id` or a `data-testid`):
    /// pages move it after the DOM has caught up, a moment after the event.
    pub async fn wait_focus(&self, target: &str) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let now = self.focused().await;
            if now == target {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the focus stayed on {now:?}, not on {target:?}; {}",
                self.browser.describe().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Presses Tab (or Shift+Tab, `backwards`) until `target` has the
    /// focus; returns the controls passed on the way.
    pub async fn tab_to(&self, target: &str, backwards: bool) -> Vec<String> {
        let mut passed = Vec::new();
        for _ in 0..MOST_TABS {
            if backwards {
                self.shift_tab().await;
            } else {
                self.press(Key::Tab).await;
            }
            let now = self.focused().await;
            if now == target {
                return passed;
            }
            passed.push(now);
        }
        panic!("{MOST_TABS} presses of Tab did not reach {target:?}; they passed {passed:?}");
    }
}
