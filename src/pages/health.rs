use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::empty_table::EmptyTable;

#[component]
pub fn HealthPage() -> impl IntoView {
    view! {
        <Title text="Health"/>
        <header class="page-header">
            <h1>"Health"</h1>
        </header>
        <EmptyTable
            caption="Alerts"
            columns=&["Severity", "Display", "Alert", "Raised", "State"]
            sentence="Alerts raised by your rules (offline, temperature, storage, player errors) will appear here live, to acknowledge and watch resolve."
        />
    }
}
