//! Entry point of the wasm app: reads `config.json` and, for a language other
//! than English, its messages, then mounts [`kmc_login::App`] in place of the static shell of
//! `index.html`.

#[cfg(target_arch = "wasm32")]
fn main() {
    // A panic's message and the JS stack trace in the console, not "unreachable executed".
    console_error_panic_hook::set_once();
    // Leptos' own executor is only set up by `mount_to_body`, so the config load that must
    // precede mounting runs on wasm-bindgen's (Leptos' spawner silently drops it in release).
    wasm_bindgen_futures::spawn_local(async {
        use kmc_login::i18n;
        // The stored choice or the browser's language is known at once, so its
        // file loads beside config.json; the config's default only matters
        // when neither names a language of ours.
        let early = i18n::preferred_language();
        let (config, _) = futures::join!(kmc_login::config::load_config(), async {
            if let Some(lang) = early {
                i18n::load(lang).await;
            }
        });
        let lang = i18n::initial_language(config.language);
        i18n::load(lang).await;
        i18n::set_language(lang);
        // The static card of index.html gives way to the app's in this one task (no frame
        // in between), keeping what was typed and the focus: see `kmc_login::handover`.
        kmc_login::handover::capture();
        leptos::mount::mount_to_body(move || leptos::view! { <kmc_login::App config=config /> });
        kmc_login::handover::finish();
    });
}

/// The app only runs in a browser; the native build exists for the unit tests.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("kmc-login is a browser app: build it with `trunk build --release`.");
}
