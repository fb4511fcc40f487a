//! `use_library`: the content library and the playlists.

use leptos::prelude::*;

use super::{shared, Snapshot, Source};
use crate::{
    api::library::fetch_library,
    error::AppError,
    model::{Content, LibrarySnapshot, Playlist},
    sync::store::Store,
};

impl Snapshot for LibrarySnapshot {
    fn fetch() -> impl std::future::Future<Output = Result<Self, AppError>> + Send + 'static {
        fetch_library()
    }
    fn seq(&self) -> i64 {
        self.seq
    }
    fn seeded(store: &Store) -> bool {
        store.content.is_seeded() && store.playlists.is_seeded()
    }
    fn held_at(store: &Store) -> i64 {
        store.content.as_of_seq().min(store.playlists.as_of_seq())
    }
    fn seed_into(&self, store: &mut Store) {
        store.seed_library(self.content.clone(), self.playlists.clone(), self.seq);
    }
}

/// What `use_library` returns. Every field is a signal; the struct is `Copy`.
#[derive(Clone, Copy)]
pub struct UseLibraryReturn {
    /// The library as the operator sees it, newest first. Empty until the
    /// snapshot arrives.
    pub content: Signal<Vec<Content>>,
    /// The playlists by name. Empty until the snapshot arrives.
    pub playlists: Signal<Vec<Playlist>>,
    /// Bytes of media the organization may keep; `None` until the snapshot arrives.
    pub storage_quota: Signal<Option<i64>>,
    /// `None` while there is nothing to show yet; `Some(Err(..))` if the
    /// snapshot could not be fetched (put it in the `ErrorBoundary`).
    pub ready: Signal<Option<Result<(), AppError>>>,
    /// `true` while there is nothing to show yet (for "Loading …").
    pub loading: Signal<bool>,
    /// The latest snapshot fetch's error, if it failed; `None` otherwise.
    pub error: Signal<Option<AppError>>,
    pub(in crate::sync) source: Source<LibrarySnapshot>,
}

/// The content library and the playlists (Content, Playlists, the playlist
/// pickers on Devices, content names on a display's detail view).
///
/// On the server it fetches the library snapshot (`fetch_library`) with a
/// blocking resource and the signals show it. In the browser the hydrated
/// page first shows the same snapshot; an effect then seeds the store with it
/// (unless the store holds newer), and from then on the signals follow the
/// store, pending ops and the stream included. Fetched again when the stream
/// asks for a refetch.
///
/// One resource per page load: every call shares the first one's signals.
/// Read the signals inside a `<Suspense>`, which then waits for the snapshot
/// on the server; once the store is seeded nothing waits.
pub fn use_library() -> UseLibraryReturn {
    shared(
        |s| s.library,
        |h| h.source,
        |sync| {
            let source = Source::<LibrarySnapshot>::new(sync);
            UseLibraryReturn {
                content: source.view(Store::content, |s| &s.content),
                playlists: source.view(Store::playlists, |s| &s.playlists),
                storage_quota: source.of_snapshot(|s| s.storage_quota),
                ready: source.ready(),
                loading: source.loading(),
                error: source.error(),
                source,
            }
        },
    )
}
