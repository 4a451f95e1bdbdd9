//! Messages with elements in them: a link or an email in bold sits where each
//! language's sentence puts it, never assembled from fragments in English
//! order.
//!
//! Serves: [`Piece`], [`split_slots`], [`SlotView`], [`slotted`].

use leptos::prelude::*;
use leptos::tachys::view::any_view::AnyView;

use super::message::tr;

/// A piece of a message that has slots for elements (a link, an email).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Plain text.
    Text(String),
    /// `{name}`: the view puts its element here.
    Slot(String),
}

/// Splits a message at its `{name}` slots, so a view can place elements
/// (a link, a bold email) where each language's sentence puts them.
pub fn split_slots(message: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = message;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_owned()));
        }
        pieces.push(Piece::Slot(rest[open + 1..open + close].to_owned()));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    pieces
}

/// What a view puts in a message's `{slot}` (a link, an email in bold).
pub type SlotView = std::sync::Arc<dyn Fn(&str) -> AnyView + Send + Sync>;

/// A message with elements in its slots, following the language: the
/// elements sit wherever each language's sentence puts them. One concrete
/// view type for every call site, so the wasm holds its code once.
pub fn slotted(key: &'static str, slot: SlotView) -> impl IntoView {
    move || {
        split_slots(&tr(key))
            .into_iter()
            .map(|piece| match piece {
                Piece::Slot(name) => slot(&name),
                Piece::Text(text) => text.into_any(),
            })
            .collect_view()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_split_a_message_where_elements_go() {
        assert_eq!(
            split_slots("Free on {play} and the {store}."),
            vec![
                Piece::Text("Free on ".into()),
                Piece::Slot("play".into()),
                Piece::Text(" and the ".into()),
                Piece::Slot("store".into()),
                Piece::Text(".".into()),
            ]
        );
        assert_eq!(split_slots("{email}"), vec![Piece::Slot("email".into())]);
    }
}
