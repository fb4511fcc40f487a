use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// A plain HTML form posting to `/auth/login`, so it works with JavaScript off.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || {
        query.with(|q| match q.get("error").as_deref() {
            Some("invalid") => Some("Email or password is incorrect.".to_string()),
            Some("limited") => Some(format!(
                "Too many failed sign-ins for this email. Try again in {} minutes.",
                q.get("wait").unwrap_or_else(|| "a few".into())
            )),
            _ => None,
        })
    };
    let next = move || query.with(|q| q.get("next").unwrap_or_else(|| "/".into()));
    view! {
        <Title text="Sign in"/>
        <main class="login">
            <form class="login-card" method="post" action="/auth/login">
                <h1><span class="brand-mark" aria-hidden="true">"▣"</span>" Vizora"</h1>
                <p class="muted">"Sign in to manage your displays."</p>
                {move || error().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                <input type="hidden" name="next" value=next/>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
                <button type="submit" class="button primary">"Sign in"</button>
            </form>
        </main>
    }
}
