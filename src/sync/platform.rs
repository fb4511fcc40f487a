//! The few things the sync layer needs from its host: a clock, randomness, op ids
//! and sleeping. The browser build uses the Web APIs; the server build has plain
//! fallbacks so shared code compiles and tests run natively.

/// Milliseconds since the epoch on this machine's clock.
pub fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as f64)
            .unwrap_or_default()
    }
}

/// The browser's time zone (`Intl`), if it names one the zone database
/// knows; `None` on the server.
pub fn browser_zone() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let format =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
        js_sys::Reflect::get(&format.resolved_options(), &"timeZone".into())
            .ok()?
            .as_string()
            .filter(|z| crate::model::is_zone(z))
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

/// A uniform random number in `[0, 1)`.
pub fn random_unit() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Math::random()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        f64::from(nanos % 1_000_000) / 1_000_000.0
    }
}

/// A fresh op id: a random (version 4) UUID.
pub fn new_op_id() -> String {
    #[cfg(feature = "hydrate")]
    if let Some(id) = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
    {
        return id;
    }
    // Outside a secure context `crypto.randomUUID` is missing: build one by hand.
    let mut hex = String::with_capacity(36);
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            hex.push('-');
        }
        let nibble = match i {
            12 => 4,
            16 => 8 + (random_unit() * 4.0) as u32,
            _ => (random_unit() * 16.0) as u32,
        };
        hex.push(char::from_digit(nibble.min(15), 16).unwrap_or('0'));
    }
    hex
}

/// Registers the console's service worker (`public/console-sw.js`), which
/// keeps each page as last loaded and its code, so a reload without the
/// network opens the console. Skipped where the browser has none (plain
/// http to another host is not a secure context).
pub fn register_console_worker() {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let navigator = w.navigator();
        if js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
            let options = web_sys::RegistrationOptions::new();
            options.set_scope("/");
            let _ = navigator
                .service_worker()
                .register_with_options("/console-sw.js", &options);
        }
    }
}

/// Waits `ms` milliseconds without blocking the page.
#[cfg(feature = "hydrate")]
pub async fn sleep(ms: f64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                ms.max(0.0) as i32,
            );
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn op_ids_look_like_uuids() {
        let id = super::new_op_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_eq!(id.matches('-').count(), 4);
    }
}
