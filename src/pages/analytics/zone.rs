//! The operator's time zone: the browser's, remembered in a cookie so the
//! server renders the next visit's days in it too. A first visit renders in
//! UTC, then the browser reads its reports again in its own zone.

use leptos::prelude::*;

const COOKIE: &str = "vizora_tz";

/// The zone the request's cookie names (the server's render).
#[cfg(feature = "ssr")]
fn from_cookie() -> Option<String> {
    let parts = use_context::<axum::http::request::Parts>()?;
    let header = parts
        .headers
        .get(axum::http::header::COOKIE)?
        .to_str()
        .ok()?;
    named(header)
}

/// The same cookie as the browser holds it (what the server saw).
#[cfg(not(feature = "ssr"))]
fn from_cookie() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let document = leptos::prelude::document();
        let cookies = js_sys::Reflect::get(&document, &"cookie".into())
            .ok()?
            .as_string()?;
        named(&cookies)
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

#[allow(dead_code)]
fn named(cookies: &str) -> Option<String> {
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.replace("%2F", "/"))
        .filter(|v| crate::model::is_zone(v))
}

/// The zone reports are read in: the cookie's (UTC without one) while the
/// page renders and hydrates, then the browser's.
pub fn operator_zone() -> RwSignal<String> {
    let tz = RwSignal::new(from_cookie().unwrap_or_else(|| "UTC".into()));
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(zone) = crate::sync::platform::browser_zone() {
            if tz.get_untracked() != zone {
                let cookie = format!(
                    "{COOKIE}={}; path=/; max-age=31536000; samesite=lax",
                    zone.replace('/', "%2F")
                );
                let _ = js_sys::Reflect::set(
                    &leptos::prelude::document(),
                    &"cookie".into(),
                    &cookie.into(),
                );
                tz.set(zone);
            }
        }
    });
    tz
}
