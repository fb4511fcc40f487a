//! The HTML shell, the router, and the layout route around every console page.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Outlet, ParentRoute, Route, Router, Routes},
    path, Lazy, LazyRoute, SsrMode,
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

/// The browser build comes in three parts besides the shared one (`cargo
/// leptos build --split`): the login page, the player, and the console (its
/// layout, the sync engine and every page). A part is fetched when a route
/// needing it is first opened; on a first visit the server names it in the
/// HTML's preload links, and hydration waits for it. On the server these are
/// plain functions.
///
/// Why the console is one part, not one per page: per-page parts were tried
/// and measured. The pages share most of their code (store, hooks, models,
/// components), which the splitter then cut into 332 small files, each
/// compressed on its own: a console page loaded 209 to 251 files and as many
/// bytes as the unsplit build (662 to 788 KiB brotli, against 734).
#[derive(Clone, Copy)]
enum ConsolePart {
    Layout,
    Overview,
    Devices,
    Device,
    Content,
    Playlists,
    Schedules,
    Health,
    Analytics,
    Settings,
}

#[lazy]
fn console_part(part: ConsolePart) -> AnyView {
    match part {
        ConsolePart::Layout => view! { <Console/> }.into_any(),
        ConsolePart::Overview => view! { <OverviewPage/> }.into_any(),
        ConsolePart::Devices => view! { <DevicesPage/> }.into_any(),
        ConsolePart::Device => view! { <DevicePage/> }.into_any(),
        ConsolePart::Content => view! { <ContentPage/> }.into_any(),
        ConsolePart::Playlists => view! { <PlaylistsPage/> }.into_any(),
        ConsolePart::Schedules => view! { <SchedulesPage/> }.into_any(),
        ConsolePart::Health => view! { <HealthPage/> }.into_any(),
        ConsolePart::Analytics => view! { <AnalyticsPage/> }.into_any(),
        ConsolePart::Settings => view! { <SettingsPage/> }.into_any(),
    }
}

#[lazy]
fn login_part() -> AnyView {
    view! { <LoginPage/> }.into_any()
}

#[lazy]
fn player_part() -> AnyView {
    view! { <PlayerPage/> }.into_any()
}

/// A route whose view is in a part: `$route => $preload, $load`. The router
/// awaits `preload` before it hydrates or shows the route, so the view's
/// future is ready at once then; hydrating a view still being fetched would
/// not match the server's HTML.
macro_rules! part_routes {
    ($($route:ident => $preload:ident, $load:expr);* $(;)?) => {$(
        struct $route;

        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(_this: Self) -> AnyView {
                $load.await
            }

            async fn preload() {
                #[cfg(feature = "hydrate")]
                $preload().await;
            }
        }
    )*};
}

part_routes! {
    LoginRoute => __preload_login_part, login_part();
    PlayerRoute => __preload_player_part, player_part();
    ConsoleRoute => __preload_console_part, console_part(ConsolePart::Layout);
    OverviewRoute => __preload_console_part, console_part(ConsolePart::Overview);
    DevicesRoute => __preload_console_part, console_part(ConsolePart::Devices);
    DeviceRoute => __preload_console_part, console_part(ConsolePart::Device);
    ContentRoute => __preload_console_part, console_part(ConsolePart::Content);
    PlaylistsRoute => __preload_console_part, console_part(ConsolePart::Playlists);
    SchedulesRoute => __preload_console_part, console_part(ConsolePart::Schedules);
    HealthRoute => __preload_console_part, console_part(ConsolePart::Health);
    AnalyticsRoute => __preload_console_part, console_part(ConsolePart::Analytics);
    SettingsRoute => __preload_console_part, console_part(ConsolePart::Settings);
}

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
    view! {
        <Title formatter=|page: String| if page.is_empty() { "Vizora".to_string() } else { format!("{page} · Vizora") }/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view={Lazy::<LoginRoute>::new()}/>
                <Route path=path!("/player") view={Lazy::<PlayerRoute>::new()}/>
                <ParentRoute path=path!("") view={Lazy::<ConsoleRoute>::new()} ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<OverviewRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("devices") view={Lazy::<DevicesRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("devices/:id") view={Lazy::<DeviceRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("content") view={Lazy::<ContentRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("playlists") view={Lazy::<PlaylistsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("schedules") view={Lazy::<SchedulesRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("health") view={Lazy::<HealthRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("analytics") view={Lazy::<AnalyticsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("settings") view={Lazy::<SettingsRoute>::new()} ssr=SsrMode::Async/>
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
    let sync = provide_sync();
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
