//! The HTML shell, the router, and the layout route around every console page.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Outlet, ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

use crate::{
    api::session::fetch_session,
    components::{nav::Nav, sync_indicator::SyncIndicator, toasts::Toasts},
    model::SessionInfo,
    pages::{
        analytics::AnalyticsPage,
        content::ContentPage,
        device::DevicePage,
        devices::DevicesPage,
        health::HealthPage,
        login::LoginPage,
        overview::OverviewPage,
        player::PlayerPage,
        playlists::PlaylistsPage,
        schedules::{SchedulesPage, TakeoverBanner},
        settings::SettingsPage,
    },
    sync::provide_sync,
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HashedStylesheet options=options.clone() id="vizora"/>
                <HydrationScripts options/>
                <link rel="icon" type="image/svg+xml" href="/assets/favicon.svg"/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_sync();
    view! {
        <Title formatter=|page: String| if page.is_empty() { "Vizora".to_string() } else { format!("{page} · Vizora") }/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view=LoginPage/>
                <Route path=path!("/player") view=PlayerPage/>
                <ParentRoute path=path!("") view=Console ssr=SsrMode::Async>
                    <Route path=path!("") view=OverviewPage ssr=SsrMode::Async/>
                    <Route path=path!("devices") view=DevicesPage ssr=SsrMode::Async/>
                    <Route path=path!("devices/:id") view=DevicePage ssr=SsrMode::Async/>
                    <Route path=path!("content") view=ContentPage ssr=SsrMode::Async/>
                    <Route path=path!("playlists") view=PlaylistsPage ssr=SsrMode::Async/>
                    <Route path=path!("schedules") view=SchedulesPage ssr=SsrMode::Async/>
                    <Route path=path!("health") view=HealthPage ssr=SsrMode::Async/>
                    <Route path=path!("analytics") view=AnalyticsPage ssr=SsrMode::Async/>
                    <Route path=path!("settings") view=SettingsPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The signed-in operator, for pages that hide what the role cannot do.
#[derive(Clone, Copy)]
pub struct Session(pub Signal<Option<SessionInfo>>);

impl Session {
    pub fn can_edit(&self) -> bool {
        self.0
            .with(|s| s.as_ref().is_some_and(|s| s.role.can_edit()))
    }
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// The layout route: navigation, the top bar with a running takeover, the
/// connection indicator and pending count, the page, and the toasts.
#[component]
fn Console() -> impl IntoView {
    let sync = crate::sync::use_sync();
    let info = Resource::new_blocking(|| (), |_| fetch_session());
    let session = Signal::derive(move || info.get().and_then(Result::ok));
    provide_context(Session(session));

    sync.persist_on_change();
    Effect::new(|_| crate::sync::platform::register_console_worker());
    Effect::new(move |_| {
        if let Some(s) = session.get() {
            sync.start(&s);
        }
    });

    view! {
        <div class="console">
            <Nav/>
            <div class="console-main">
                <header class="topbar">
                    <Suspense fallback=|| ()>
                        <span class="org">{move || session.get().map(|s| s.org_name)}</span>
                    </Suspense>
                    <TakeoverBanner/>
                    <SyncIndicator/>
                    <Suspense fallback=|| ()>
                        {move || session.get().map(|s| view! {
                            <span class="who" title="Signed in">
                                {s.email} " · " <span class="role">{s.role.as_str()}</span>
                            </span>
                        })}
                    </Suspense>
                    <form method="post" action="/auth/logout" class="logout" on:submit=|_| crate::sync::leaving()>
                        <button type="submit" class="button ghost">"Sign out"</button>
                    </form>
                </header>
                <main class="page">
                    <ErrorBoundary fallback=|errors| view! {
                        <div class="page-error" role="alert">
                            <h2>"This part of the page failed"</h2>
                            <ul>
                                {move || errors.get().into_iter().map(|(_, e)| view! { <li>{e.to_string()}</li> }).collect_view()}
                            </ul>
                        </div>
                    }>
                        <Outlet/>
                    </ErrorBoundary>
                </main>
            </div>
            <Toasts/>
        </div>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="not-found">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to the overview"</a></p>
        </main>
    }
}
