use leptos::prelude::*;

/// A page's real empty state: its table with the columns it will have, and one
/// sentence on what will appear there.
#[component]
pub fn EmptyTable(
    caption: &'static str,
    columns: &'static [&'static str],
    sentence: &'static str,
) -> impl IntoView {
    view! {
        <table class="table">
            <caption>{caption}</caption>
            <thead>
                <tr>{columns.iter().map(|c| view! { <th scope="col">{*c}</th> }).collect_view()}</tr>
            </thead>
            <tbody>
                <tr class="empty">
                    <td colspan=columns.len().to_string()>{sentence}</td>
                </tr>
            </tbody>
        </table>
    }
}
