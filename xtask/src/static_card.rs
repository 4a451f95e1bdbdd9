//! The static card of `index.html` in the visitor's language from the first paint.
//!
//! The card that `index.html` shows before the module has loaded is written in English. Its
//! texts carry the key of the same message in `locales/` (`data-i18n="key"` for the text,
//! `data-i18n-label="key"` for an `aria-label`). At build time (trunk's `post_build` hook, with
//! `precompress`) this step reads those keys, takes their messages from every language file in
//! the built `locales/`, and writes one small inline script after the card. In the browser that
//! script picks the language as the app will (the stored choice, else the best match of
//! `navigator.languages`) and puts the card's texts, `<html lang>` and `dir` in that language
//! before the first paint: a German visitor on a slow phone reads German at once, and the app
//! taking over later changes no word. kmc-server allows the script by its hash, as it does every
//! inline script of `index.html`.
//!
//! Only the keys the card names travel (18 messages per language), so `index.html` grows by
//! about 2 KB brotli (3.1 to 5.1 KB), a sixth of a language file per language. A key missing from a language file stops the build: the
//! language files are checked against English by the app's tests, and the card's keys here.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

/// Languages written right to left, as the app's `Lang::rtl` says of the ones it speaks.
const RTL: [&str; 4] = ["he", "ar", "fa", "ur"];

/// The marker after which the script goes: the end of the static shell.
const SHELL_END: &str = "</main>";

/// `html` with the card's translations, read from the language files in `locales`.
pub fn translate(html: &str, locales: &Path) -> Result<String, String> {
    let mut files = BTreeMap::new();
    let entries = std::fs::read_dir(locales).map_err(|e| format!("{}: {e}", locales.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let (Some(tag), Some("json")) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        files.insert(tag.to_owned(), text);
    }
    let out = with_script(html, &files)?;
    println!(
        "static card: {} key(s) in {} language(s)",
        card_keys(html).len(),
        files.len()
    );
    Ok(out)
}

/// `html` with the translating script after the static shell; `files` maps a language tag to
/// its JSON text (English included: its texts are already in the card, so it is left out).
pub fn with_script(html: &str, files: &BTreeMap<String, String>) -> Result<String, String> {
    if html.contains("data-kmc-static-card") {
        return Ok(html.to_owned());
    }
    let keys = card_keys(html);
    let mut table = Map::new();
    for (tag, text) in files {
        if tag == "en" {
            continue;
        }
        let messages: Map<String, Value> =
            serde_json::from_str(text).map_err(|e| format!("locales/{tag}.json: {e}"))?;
        let mut picked = Map::new();
        for key in &keys {
            let message = messages
                .get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("locales/{tag}.json has no message {key:?}"))?;
            picked.insert(key.clone(), Value::from(message));
        }
        if RTL.contains(&tag.split('-').next().unwrap_or_default()) {
            picked.insert(String::new(), Value::from("rtl"));
        }
        table.insert(tag.clone(), Value::Object(picked));
    }
    let data = script_literal(&Value::Object(table));
    after_shell(
        html,
        &format!("<script data-kmc-static-card>{PICKER}({data})</script>"),
    )
}

/// `html` with `tag` right after the static shell (`</main>`), where the card is parsed.
pub fn after_shell(html: &str, tag: &str) -> Result<String, String> {
    let at = html
        .find(SHELL_END)
        .ok_or("index.html has no static shell (</main>)")?
        + SHELL_END.len();
    Ok(format!("{}{tag}{}", &html[..at], &html[at..]))
}

/// `value` as JSON, which is a JavaScript literal, for an inline script: `<` never appears raw
/// inside it, so nothing in it can end the script early.
pub fn script_literal(value: &Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// The value of an attribute, from just after its `=`: quoted, or bare as trunk's minifier
/// leaves it (up to whitespace or the tag's end).
pub fn attribute_value(rest: &str) -> &str {
    match rest.chars().next() {
        Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or_default(),
        _ => rest
            .split(|c: char| c.is_ascii_whitespace() || c == '>')
            .next()
            .unwrap_or_default(),
    }
}

/// Every key the card names, in `data-i18n` and `data-i18n-label` attributes (quoted as in the
/// source, or bare as trunk's minifier leaves them).
pub fn card_keys(html: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for attr in ["data-i18n=", "data-i18n-label="] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            let key = attribute_value(rest);
            if key.is_empty() {
                continue;
            }
            if !keys.iter().any(|k| k == key) {
                keys.push(key.to_owned());
            }
        }
    }
    keys
}

/// The script's code, called with the table of messages by language. Its choice mirrors the
/// app's (`src/i18n/choice.rs`: the stored `kmc.lang`, else `best_match` over `navigator.languages`:
/// the exact tag, else the same primary subtag, `iw` read as `he`); English, or a language the
/// table lacks, leaves the card as it is.
const PICKER: &str = r#"(function(m){var w=[],t,i,j;try{var s=localStorage.getItem("kmc.lang");if(s&&(s=="en"||m[s]))w.push(s)}catch(e){}w=w.concat(navigator.languages||[navigator.language||""]);var L=["en"].concat(Object.keys(m));function p(g){g=String(g).trim().toLowerCase();for(j=0;j<L.length;j++)if(L[j].toLowerCase()==g)return L[j];g=g.split(/[-_]/)[0];if(g=="iw")g="he";for(j=0;j<L.length;j++)if(L[j].split("-")[0].toLowerCase()==g)return L[j]}for(i=0;i<w.length&&!t;i++)t=p(w[i]);if(!t||!m[t])return;var d=m[t],r=document.documentElement,b=document.getElementById("boot"),q;r.lang=t;r.dir=d[""]||"ltr";if(!b)return;q=b.querySelectorAll("[data-i18n]");for(i=0;i<q.length;i++)q[i].textContent=d[q[i].getAttribute("data-i18n")];q=b.querySelectorAll("[data-i18n-label]");for(i=0;i<q.length;i++)q[i].setAttribute("aria-label",d[q[i].getAttribute("data-i18n-label")])})"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> BTreeMap<String, String> {
        [
            ("en", r#"{"a.title": "Sign in", "a.show": "Show password"}"#),
            (
                "de",
                r#"{"a.title": "Anmelden", "a.show": "Passwort anzeigen"}"#,
            ),
            ("he", r#"{"a.title": "<התחברות>", "a.show": "הצגת הסיסמה"}"#),
        ]
        .into_iter()
        .map(|(t, j)| (t.to_owned(), j.to_owned()))
        .collect()
    }

    const HTML: &str = r#"<html><body><main id="boot"><h1 data-i18n="a.title">Sign in</h1><button aria-label="Show password" data-i18n-label="a.show">Show</button></main></body></html>"#;

    #[test]
    fn the_card_keys_are_read_from_both_attributes_once_each() {
        assert_eq!(card_keys(HTML), ["a.title", "a.show"]);
        // As trunk's minifier writes them.
        let minified =
            "<h1 data-i18n=a.title>Sign in</h1><b data-i18n=a.title data-i18n-label=a.show>";
        assert_eq!(card_keys(minified), ["a.title", "a.show"]);
    }

    #[test]
    fn the_script_follows_the_shell_with_every_other_language_and_rtl_marked() {
        let out = with_script(HTML, &files()).unwrap();
        let at = out.find("<script data-kmc-static-card>").unwrap();
        assert!(at > out.find("</main>").unwrap() && at < out.find("</body>").unwrap());
        assert!(out.contains(r#""de":{"a.show":"Passwort anzeigen","a.title":"Anmelden"}"#));
        assert!(
            out.contains(r#""":"rtl""#),
            "Hebrew is marked right to left"
        );
        assert!(!out.contains("\"en\":"), "English is already in the card");
        // A message cannot close the script early.
        assert!(out.contains("\\u003cהתחברות>") && out.matches("</script>").count() == 1);
        // Running the step twice changes nothing.
        assert_eq!(with_script(&out, &files()).unwrap(), out);
    }

    #[test]
    fn a_language_without_a_card_message_stops_the_build() {
        let mut files = files();
        files.insert("fr".into(), r#"{"a.title": "Connexion"}"#.into());
        let err = with_script(HTML, &files).unwrap_err();
        assert!(err.contains("fr.json") && err.contains("a.show"), "{err}");
    }

    #[test]
    fn the_card_of_index_html_names_keys_of_english_with_their_english_text() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let html = std::fs::read_to_string(root.join("index.html")).unwrap();
        let en: Map<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(root.join("locales/en.json")).unwrap())
                .unwrap();
        let keys = card_keys(&html);
        assert!(keys.len() >= 10, "{keys:?}");
        for key in keys {
            assert!(
                en.contains_key(&key),
                "index.html names {key:?}, which en.json lacks"
            );
        }
        // The card's English is the app's, word for word: nothing changes when it takes over.
        let mut rest = html.as_str();
        while let Some(at) = rest.find("data-i18n=\"") {
            rest = &rest[at + "data-i18n=\"".len()..];
            let key = &rest[..rest.find('"').unwrap()];
            let text_at = rest.find('>').unwrap() + 1;
            let text = &rest[text_at..text_at + rest[text_at..].find('<').unwrap()];
            assert_eq!(
                Some(text.trim()),
                en[key].as_str(),
                "the card's text for {key:?}"
            );
        }
    }
}
