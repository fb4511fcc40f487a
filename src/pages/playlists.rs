use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::empty_table::EmptyTable;

#[component]
pub fn PlaylistsPage() -> impl IntoView {
    view! {
        <Title text="Playlists"/>
        <header class="page-header">
            <h1>"Playlists"</h1>
        </header>
        <EmptyTable
            caption="Playlists"
            columns=&["Name", "Items", "Total duration", "Default for", "Updated"]
            sentence="Playlists you create will appear here, with their items, total duration and the displays they play on."
        />
    }
}
