use leptos::prelude::*;
use leptos_router::components::A;

const PAGES: [(&str, &str); 8] = [
    ("/", "Overview"),
    ("/devices", "Devices"),
    ("/content", "Content"),
    ("/playlists", "Playlists"),
    ("/schedules", "Schedules"),
    ("/health", "Health"),
    ("/analytics", "Analytics"),
    ("/settings", "Settings"),
];

#[component]
pub fn Nav() -> impl IntoView {
    view! {
        <nav class="nav" aria-label="Main">
            <a class="brand" href="/" aria-label="Vizora home">
                <span class="brand-mark" aria-hidden="true">"▣"</span>
                " Vizora"
            </a>
            <ul>
                {PAGES
                    .into_iter()
                    .map(|(href, label)| view! { <li><A href=href exact=true>{label}</A></li> })
                    .collect_view()}
            </ul>
        </nav>
    }
}
