#![recursion_limit = "256"]
//! Vizora: a real-time console for fleets of digital-signage displays.
//!
//! One crate, two builds: the server (`ssr`: axum, sqlx, the stream hub) and the
//! browser (`hydrate`: the same components compiled to WebAssembly).

pub mod api;
pub mod app;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;
pub mod player;
#[cfg(feature = "ssr")]
pub mod server;
pub mod sync;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Routes' views are in parts of the build (app::console_part and its
    // kin): hydration waits for the page's part, so it ends after this entry
    // returns.
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        // Playwright waits for this marker before it clicks.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
