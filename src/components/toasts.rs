use leptos::prelude::*;

use crate::sync::{use_sync, NoticeKind};

#[component]
pub fn Toasts() -> impl IntoView {
    let notices = use_sync().notices;
    view! {
        <div class="toasts" aria-live="assertive">
            <For each=move || notices.list.get() key=|n| n.id let:notice>
                <div
                    class="toast"
                    class:error=notice.kind == NoticeKind::Error
                    role=if notice.kind == NoticeKind::Error { "alert" } else { "status" }
                >
                    <span>{notice.message.clone()}</span>
                    <button
                        type="button"
                        class="button ghost"
                        aria-label="Dismiss"
                        on:click=move |_| notices.dismiss(notice.id)
                    >
                        "×"
                    </button>
                </div>
            </For>
        </div>
    }
}
