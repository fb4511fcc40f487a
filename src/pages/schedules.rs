use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::empty_table::EmptyTable;

#[component]
pub fn SchedulesPage() -> impl IntoView {
    view! {
        <Title text="Schedules"/>
        <header class="page-header">
            <h1>"Schedules"</h1>
        </header>
        <EmptyTable
            caption="Schedules"
            columns=&["Playlist", "Target", "Dates", "Days", "Time window", "Priority", "Enabled"]
            sentence="Schedules that put a playlist on a display or group at set times will appear here, evaluated in each display's own time zone."
        />
    }
}
