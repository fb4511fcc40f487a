//! `/player`: a browser in kiosk mode pointed here becomes a managed display.
//! Full screen, no operator chrome. It speaks the device protocol
//! (`/device/ws`, `model::display`): shows a pairing code until an operator
//! claims it, keeps the token it is given, and plays its manifest in order,
//! looping: images and web pages for their duration, videos to their end.
//!
//! The protocol client and what it keeps in localStorage live in `crate::player`;
//! this page only renders the player's state.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    model::{format_duration, ContentKind, ManifestItem},
    player::{Phase, Player},
};

#[component]
pub fn PlayerPage() -> impl IntoView {
    let player = Player::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |started: Option<()>| {
        if started.is_none() {
            crate::player::start(player);
        }
    });
    view! {
        <Title text="Player"/>
        <main class="player" data-phase=move || match player.phase.get() {
            Phase::Connecting => "connecting",
            Phase::Pairing { .. } => "pairing",
            Phase::Playing => "playing",
        } data-online=move || player.online.get().to_string()
          data-playlist=move || player.on_air.with(|a| a.playlist_id.clone().unwrap_or_default())
          data-source=move || player.on_air.with(|a| a.source.map(|s| s.as_str()).unwrap_or(""))>
            {move || match player.phase.get() {
                Phase::Connecting => view! { <div class="player-message"><p>"Connecting to Vizora…"</p></div> }.into_any(),
                Phase::Pairing { code } => view! {
                    <div class="player-message pairing">
                        <p>"Pair this display"</p>
                        <p class="pairing-code" aria-label="Pairing code">{code}</p>
                        <p class="hint">"In Vizora, open Devices → Pair display, and enter this code. It is good for 10 minutes."</p>
                    </div>
                }.into_any(),
                Phase::Playing => view! { <Stage player/> }.into_any(),
            }}
        </main>
    }
}

#[component]
fn Stage(player: Player) -> impl IntoView {
    move || {
        let now = crate::sync::platform::now_ms() as i64;
        match player.current(now) {
            None => view! {
                <div class="player-message idle">
                    <p class="display-name">{move || player.name.get()}</p>
                    <p>"Nothing to play yet: assign a playlist to this display or its group."</p>
                </div>
            }
            .into_any(),
            Some(item) => {
                let turn = player.slot.get_untracked();
                view! { <Slide item turn player/> }.into_any()
            }
        }
    }
}

#[component]
fn Slide(item: ManifestItem, turn: u64, player: Player) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    crate::player::showing(player, &item, turn);
    #[cfg(not(feature = "hydrate"))]
    let _ = (turn, player);
    let label = format!("{} ({})", item.name, format_duration(item.duration_ms));
    match item.kind {
        ContentKind::Image => view! {
            <img class="slide" src=item.url.clone() alt=label data-item=item.id.clone()/>
        }
        .into_any(),
        ContentKind::Video => view! {
            <video class="slide" src=item.url.clone() autoplay muted playsinline data-item=item.id.clone()
                on:ended=move |_| {
                    #[cfg(feature = "hydrate")]
                    crate::player::advance(player, turn);
                }
                on:error=move |_| {
                    #[cfg(feature = "hydrate")]
                    crate::player::failed(player, turn, "The video could not be played.");
                }></video>
        }
        .into_any(),
        ContentKind::Web => view! {
            <iframe class="slide" src=item.url.clone() title=label data-item=item.id.clone()
                sandbox="allow-scripts allow-same-origin" referrerpolicy="no-referrer"></iframe>
        }
        .into_any(),
    }
}
