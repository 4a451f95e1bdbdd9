//! The app's preloads start once the card is parsed, not before.
//!
//! trunk writes `<link rel=modulepreload>` (the JS glue) and `<link rel=preload as=fetch>` (the
//! wasm) into `<head>`, and `index.html` preloads `config.json` there. The browser's preload
//! scanner requests all three as soon as the first bytes of the page arrive, and their
//! downloads, decompression and integrity checks then compete with the parsing of the card for
//! the machine's cores. On the 2-core bench machine that made the card usable later than the
//! same card without them: 86 and 87 ms against 74 and 78 ms with the preloads moved after the
//! card (medians of 30 cold loads per run; the plain form 64–70 ms in the same runs), while the
//! app took over no later (169–180 ms against 173–192 ms).
//!
//! So at build time (trunk's `post_build` hook, with `precompress`) this step takes those
//! `<link>`s out of `<head>` and writes, right after the static card, a one-line script that
//! puts the same elements into `<head>`. The browser then fetches them at once, as before, but
//! only after the card is in the page; nothing else about them changes (URL, `crossorigin`
//! mode, `integrity`), so the module, the wasm and `src/config.rs` use the preloaded responses.
//! kmc-server allows the script by its hash, as it does every inline script of `index.html`.
//! Without JavaScript nothing needs them.

use serde_json::Value;

use crate::static_card::{after_shell, attribute_value, script_literal};

/// `html` with its preloads after the card.
pub fn apply(html: &str) -> Result<String, String> {
    let (out, moved) = after_card(html)?;
    println!("late preloads: {moved} preload(s) moved after the card");
    Ok(out)
}

/// `html` with every `<link>` of `<head>` whose `rel` is `preload` or `modulepreload` moved into
/// a script after the static shell, and how many moved. A page whose head has none (this step
/// has run already) is returned as it is.
pub fn after_card(html: &str) -> Result<(String, usize), String> {
    let head_end = html.find("</head>").ok_or("index.html has no </head>")?;
    let mut head = String::with_capacity(head_end);
    let mut links = String::new();
    let mut moved = 0;
    let mut at = 0;
    while let Some(found) = html[at..head_end].find("<link").map(|f| at + f) {
        let end = html[found..head_end]
            .find('>')
            .map(|e| found + e + 1)
            .ok_or("a <link> in <head> is not closed")?;
        head.push_str(&html[at..found]);
        let tag = &html[found..end];
        if is_preload(tag) {
            links.push_str(tag);
            moved += 1;
        } else {
            head.push_str(tag);
        }
        at = end;
    }
    if moved == 0 {
        return Ok((html.to_owned(), 0));
    }
    head.push_str(&html[at..head_end]);
    let script = format!(
        "<script data-kmc-preloads>document.head.insertAdjacentHTML(\"beforeend\",{})</script>",
        script_literal(&Value::from(links))
    );
    Ok((
        after_shell(&format!("{head}{}", &html[head_end..]), &script)?,
        moved,
    ))
}

/// Whether a `<link …>` tag preloads: `rel` is `preload` or `modulepreload`, quoted or bare
/// (as trunk's minifier leaves it).
pub fn is_preload(tag: &str) -> bool {
    let lower = tag.to_ascii_lowercase();
    let Some(at) = lower
        .match_indices("rel=")
        .map(|(at, _)| at)
        .find(|&at| lower[..at].ends_with(|c: char| c.is_ascii_whitespace()))
    else {
        return false;
    };
    // A self-closing tag's bare value ends before its `/`.
    let value = attribute_value(&lower[at + "rel=".len()..]).trim_end_matches('/');
    value
        .split_ascii_whitespace()
        .any(|r| r == "preload" || r == "modulepreload")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of trunk's minified release `index.html`, shortened.
    const PAGE: &str = "<!doctype html><html><head><meta charset=utf-8><link href=data:, rel=icon>\
        <style>.card{}</style><link as=fetch crossorigin href=config.json rel=preload>\
        <script type=module>import init from\"/a-1.js\";await init({module_or_path:`/a-1_bg.wasm`})</script>\
        <link crossorigin href=/a-1.js integrity=sha384-x/y+z= rel=modulepreload>\
        <link as=fetch crossorigin href=/a-1_bg.wasm integrity=sha384-p/q+r= rel=preload type=application/wasm>\
        </head><body><main id=boot><input id=login-email></main><script data-kmc-static-card>(1)</script></body></html>";

    #[test]
    fn the_preloads_leave_the_head_for_a_script_right_after_the_card() {
        let (out, moved) = after_card(PAGE).unwrap();
        assert_eq!(moved, 3);
        let head = &out[..out.find("</head>").unwrap()];
        assert!(!head.contains("preload"), "{head}");
        assert!(
            head.contains("<link href=data:, rel=icon>") && head.contains("<script type=module>"),
            "other links and the module stay: {head}"
        );
        let script = "<script data-kmc-preloads>document.head.insertAdjacentHTML(\"beforeend\",\
            \"\\u003clink as=fetch crossorigin href=config.json rel=preload>\
            \\u003clink crossorigin href=/a-1.js integrity=sha384-x/y+z= rel=modulepreload>\
            \\u003clink as=fetch crossorigin href=/a-1_bg.wasm integrity=sha384-p/q+r= rel=preload type=application/wasm>\")</script>";
        assert!(
            out.contains(&format!("</main>{script}<script data-kmc-static-card>")),
            "{out}"
        );
    }

    #[test]
    fn running_twice_changes_nothing_more() {
        let (once, _) = after_card(PAGE).unwrap();
        assert_eq!(after_card(&once).unwrap(), (once.clone(), 0));
    }

    #[test]
    fn quoted_rel_values_are_preloads_and_other_rels_are_not() {
        assert!(is_preload(
            r#"<link rel="preload" href="config.json" as="fetch" crossorigin="anonymous" />"#
        ));
        assert!(is_preload("<link href=/a.js REL='modulepreload'>"));
        assert!(is_preload("<link href=/a.wasm\n  rel=preload as=fetch>"));
        assert!(!is_preload("<link href=/x?rel=preload rel=icon>"));
        assert!(!is_preload("<link href=/s.css rel=stylesheet>"));
        assert!(!is_preload("<link href=/x rel=prefetch>"));
        assert!(!is_preload("<link href=/preload.css rel=stylesheet>"));
    }

    #[test]
    fn a_page_without_the_static_shell_stops_the_build() {
        let page = "<head><link href=/a.js rel=modulepreload></head><body></body>";
        assert!(after_card(page).unwrap_err().contains("</main>"));
    }
}
