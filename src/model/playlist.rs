//! Playlists: an ordered list of items, each showing one library item for a
//! duration. Items change through item-level ops (insert, move, remove, set
//! duration) placed by anchors ("after item X"), so two operators editing one
//! playlist apply on top of each other instead of one overwriting the other.
//! The same functions run in the browser (the optimistic view) and on the
//! server (the truth), so both end with the same order.

use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaylistItem {
    /// Made by the client that inserted it (a UUID); stable across moves.
    pub id: String,
    pub content_id: String,
    pub duration_ms: i64,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Playlist {
    pub id: String,
    pub name: String,
    pub items: Vec<PlaylistItem>,
    pub version: i64,
}

pub const MAX_PLAYLIST_ITEMS: usize = 500;
/// An item shows for at least a second and at most a day.
pub const ITEM_DURATION_MS: std::ops::RangeInclusive<i64> = 1_000..=86_400_000;

/// An item-level edit. `after: None` means "at the start".
#[derive(Debug, Clone, PartialEq)]
pub enum ItemEdit<'a> {
    Insert {
        item: PlaylistItem,
        after: Option<&'a str>,
    },
    Move {
        item_id: &'a str,
        after: Option<&'a str>,
    },
    Remove {
        item_id: &'a str,
    },
    SetDuration {
        item_id: &'a str,
        duration_ms: i64,
    },
}

impl Playlist {
    pub fn total_ms(&self) -> i64 {
        self.items.iter().map(|i| i.duration_ms).sum()
    }

    fn index_after(&self, after: Option<&str>) -> usize {
        match after {
            None => 0,
            // An anchor someone else removed meanwhile: the end is the least
            // surprising place, and every replica picks the same one.
            Some(anchor) => self
                .items
                .iter()
                .position(|i| i.id == anchor)
                .map_or(self.items.len(), |at| at + 1),
        }
    }

    /// Applies one edit. Errors are for the operator (the item is gone, the list
    /// is full); the browser's optimistic view ignores them and shows the rest.
    pub fn apply_edit(&mut self, edit: &ItemEdit<'_>) -> Result<(), String> {
        match edit {
            ItemEdit::Insert { item, after } => {
                if self.items.iter().any(|i| i.id == item.id) {
                    return Err("That item is already in the playlist.".into());
                }
                if self.items.len() >= MAX_PLAYLIST_ITEMS {
                    return Err(format!(
                        "A playlist holds at most {MAX_PLAYLIST_ITEMS} items."
                    ));
                }
                let at = self.index_after(*after);
                self.items.insert(at, item.clone());
            }
            ItemEdit::Move { item_id, after } => {
                if after == &Some(*item_id) {
                    return Ok(());
                }
                let from = self.position(item_id)?;
                let item = self.items.remove(from);
                let at = self.index_after(*after);
                self.items.insert(at, item);
            }
            ItemEdit::Remove { item_id } => {
                let at = self.position(item_id)?;
                self.items.remove(at);
            }
            ItemEdit::SetDuration {
                item_id,
                duration_ms,
            } => {
                let at = self.position(item_id)?;
                self.items[at].duration_ms = *duration_ms;
            }
        }
        Ok(())
    }

    fn position(&self, item_id: &str) -> Result<usize, String> {
        self.items
            .iter()
            .position(|i| i.id == item_id)
            .ok_or_else(|| {
                "That item is no longer in the playlist; someone may have removed it.".into()
            })
    }
}

pub fn validate_playlist_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err("A playlist needs a name.".into());
    }
    if chars > 100 {
        return Err(format!(
            "A playlist name can be at most 100 characters; this one has {chars}."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("A playlist name cannot contain control characters.".into());
    }
    Ok(name.to_string())
}

pub fn validate_duration(ms: i64) -> Result<i64, String> {
    if ITEM_DURATION_MS.contains(&ms) {
        Ok(ms)
    } else {
        Err("An item's duration must be between 1 second and 24 hours.".into())
    }
}

/// "1:05" or "1:02:05" for a total or a duration.
pub fn format_duration(ms: i64) -> String {
    let s = (ms + 500) / 1000;
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(ids: &[&str]) -> Playlist {
        Playlist {
            id: "p".into(),
            name: "P".into(),
            items: ids
                .iter()
                .map(|id| PlaylistItem {
                    id: id.to_string(),
                    content_id: "c".into(),
                    duration_ms: 1000,
                })
                .collect(),
            version: 1,
        }
    }
    fn ids(p: &Playlist) -> Vec<&str> {
        p.items.iter().map(|i| i.id.as_str()).collect()
    }

    #[test]
    fn moves_by_anchor() {
        let mut p = list(&["a", "b", "c", "d"]);
        p.apply_edit(&ItemEdit::Move {
            item_id: "a",
            after: Some("c"),
        })
        .unwrap();
        assert_eq!(ids(&p), ["b", "c", "a", "d"]);
        p.apply_edit(&ItemEdit::Move {
            item_id: "d",
            after: None,
        })
        .unwrap();
        assert_eq!(ids(&p), ["d", "b", "c", "a"]);
    }

    #[test]
    fn a_removed_anchor_sends_the_item_to_the_end() {
        let mut p = list(&["a", "b", "c"]);
        p.apply_edit(&ItemEdit::Remove { item_id: "c" }).unwrap();
        p.apply_edit(&ItemEdit::Move {
            item_id: "a",
            after: Some("c"),
        })
        .unwrap();
        assert_eq!(ids(&p), ["b", "a"]);
    }

    #[test]
    fn two_operators_reordering_converge_without_loss() {
        // Both start from a,b,c,d. One moves a after d, the other d to the start.
        // The server applies them in arrival order; each client replays its own
        // pending op on the confirmed state, so both views end where the server is.
        let mut server = list(&["a", "b", "c", "d"]);
        server
            .apply_edit(&ItemEdit::Move {
                item_id: "a",
                after: Some("d"),
            })
            .unwrap();
        server
            .apply_edit(&ItemEdit::Move {
                item_id: "d",
                after: None,
            })
            .unwrap();
        assert_eq!(ids(&server), ["d", "b", "c", "a"]);
        let mut sorted = ids(&server);
        sorted.sort();
        assert_eq!(sorted, ["a", "b", "c", "d"]);
    }

    #[test]
    fn errors_for_missing_items_and_bounds() {
        let mut p = list(&["a"]);
        assert!(p.apply_edit(&ItemEdit::Remove { item_id: "x" }).is_err());
        let dup = PlaylistItem {
            id: "a".into(),
            content_id: "c".into(),
            duration_ms: 1000,
        };
        assert!(p
            .apply_edit(&ItemEdit::Insert {
                item: dup,
                after: None
            })
            .is_err());
        assert!(validate_duration(999).is_err());
        assert_eq!(format_duration(65_000), "1:05");
        assert_eq!(format_duration(3_725_000), "1:02:05");
    }
}
