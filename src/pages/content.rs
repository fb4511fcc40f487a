use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::empty_table::EmptyTable;

#[component]
pub fn ContentPage() -> impl IntoView {
    view! {
        <Title text="Content"/>
        <header class="page-header">
            <h1>"Content"</h1>
        </header>
        <EmptyTable
            caption="Content library"
            columns=&["Preview", "Name", "Type", "Size", "Tags", "Used in"]
            sentence="Images, videos and web pages you upload will appear here, with their thumbnails and the playlists that use them."
        />
    }
}
