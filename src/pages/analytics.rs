use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::empty_table::EmptyTable;

#[component]
pub fn AnalyticsPage() -> impl IntoView {
    view! {
        <Title text="Analytics"/>
        <header class="page-header">
            <h1>"Analytics"</h1>
        </header>
        <EmptyTable
            caption="Proof of play"
            columns=&["Content", "Plays", "Play time", "Displays", "Last played"]
            sentence="Proof of play reported by your displays will appear here: what played, where, and for how long."
        />
    }
}
