use leptos::prelude::*;

use crate::model::DeviceStatus;

#[component]
pub fn StatusBadge(status: DeviceStatus) -> impl IntoView {
    view! {
        <span class=format!("badge status-{}", status.as_str())>
            <span class="dot" aria-hidden="true"></span>
            {status.label()}
        </span>
    }
}
