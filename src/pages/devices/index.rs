//! The Devices table's index over the whole fleet: each display's sort and
//! search keys, every display in table order, and the ones the filters let
//! through. It is brought up to date from the displays that changed since the
//! last read of the store, not rebuilt: a status change in a fleet of 20,000
//! moves one display by binary search, and search is one pass over keys made
//! once, never a sort.

use std::{
    cmp::Ordering,
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use super::SortKey;
use crate::{
    model::{Device, DeviceGroup, DeviceStatus},
    sync::store::{Changed, ReadMark, Store},
};

/// What the table shows: search text, group and status filters, and sort.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Query {
    pub search: String,
    /// A group id, `none` for displays in no group, or empty for all.
    pub group: String,
    /// A status (`DeviceStatus::as_str`), or empty for all.
    pub status: String,
    pub sort: (SortKey, bool),
}

impl Query {
    fn filters(&self) -> bool {
        !(self.search.trim().is_empty() && self.group.is_empty() && self.status.is_empty())
    }
}

/// One display's keys, made once per change of the display.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    id: Arc<str>,
    name: String,
    name_key: String,
    group_id: Option<String>,
    group: String,
    status: DeviceStatus,
    last_seen: Option<i64>,
    timezone: String,
    /// Name, time zone, tags and group name, lowercase, one per line: what
    /// search looks in (a search box never holds a line break).
    haystack: String,
}

/// A group's name for the table: "—" for none or one not (yet) known.
pub(super) fn group_name(groups: &[DeviceGroup], id: Option<&str>) -> String {
    id.and_then(|id| groups.iter().find(|g| g.id == id))
        .map(|g| g.name.clone())
        .unwrap_or_else(|| "—".into())
}

impl Entry {
    fn of(d: &Device, groups: &HashMap<String, String>) -> Entry {
        let group = d
            .group_id
            .as_deref()
            .and_then(|g| groups.get(g))
            .cloned()
            .unwrap_or_else(|| "—".into());
        let mut haystack = d.name.to_lowercase();
        for part in [&d.timezone, &group].into_iter().chain(&d.tags) {
            haystack.push('\n');
            haystack.push_str(&part.to_lowercase());
        }
        Entry {
            id: Arc::from(d.id.as_str()),
            name_key: d.name.to_lowercase(),
            name: d.name.clone(),
            group_id: d.group_id.clone(),
            group,
            status: d.status,
            last_seen: d.last_seen,
            timezone: d.timezone.clone(),
            haystack,
        }
    }

    fn passes(&self, query: &Query, search: &str) -> bool {
        let group = match query.group.as_str() {
            "" => true,
            "none" => self.group_id.is_none(),
            g => self.group_id.as_deref() == Some(g),
        };
        group
            && (query.status.is_empty() || self.status.as_str() == query.status)
            && (search.is_empty() || self.haystack.contains(search))
    }
}

/// The table's order: the sort key, then name, then id, so it is total.
fn compare(a: &Entry, b: &Entry, (key, ascending): (SortKey, bool)) -> Ordering {
    let ord = match key {
        SortKey::Name => a.name_key.cmp(&b.name_key),
        SortKey::Group => a.group.cmp(&b.group),
        SortKey::Status => a.status.cmp(&b.status),
        SortKey::LastSeen => b.last_seen.cmp(&a.last_seen),
        SortKey::TimeZone => a.timezone.cmp(&b.timezone),
    }
    .then_with(|| a.name.cmp(&b.name))
    .then_with(|| a.id.cmp(&b.id));
    if ascending {
        ord
    } else {
        ord.reverse()
    }
}

/// How far a change reached into the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Took {
    Nothing,
    /// Some display's keys changed, the order did not.
    Keys,
    /// Displays moved, came or went.
    Order,
}

/// Above this many changed displays at once, sorting everything again is
/// cheaper than moving each one.
const MOVES: usize = 256;

/// The index. `refresh` brings it up to date; the rest reads it.
#[derive(Debug, Default)]
pub(super) struct FleetIndex {
    mark: Option<ReadMark>,
    groups: HashMap<String, String>,
    sort: Option<(SortKey, bool)>,
    entries: HashMap<Arc<str>, Entry>,
    /// Every display, in table order.
    order: Vec<Arc<str>>,
    query: Option<Query>,
    /// The displays the filters let through, in order; `None` when no
    /// filter is set (then it is `order`).
    filtered: Option<Vec<Arc<str>>>,
    /// Bumped whenever what `shown` returns changed.
    generation: u64,
}

impl FleetIndex {
    /// Brings the index up to date with `store` and `query`. Returns the
    /// generation, which moves only when the shown list changed.
    pub fn refresh(&mut self, store: &Store, groups: &[DeviceGroup], query: &Query) -> u64 {
        let names: HashMap<String, String> = groups
            .iter()
            .map(|g| (g.id.clone(), g.name.clone()))
            .collect();
        let regroup = names != self.groups;
        if regroup {
            self.groups = names;
        }
        let since = if regroup { None } else { self.mark };
        let (mark, took) =
            store.read_devices(since, |view, changed| self.take(view, changed, query.sort));
        self.mark = Some(mark);
        let requery = self.query.as_ref() != Some(query);
        let refilter = query.filters() && took == Took::Keys;
        if took == Took::Order || requery || refilter {
            let filtered = query.filters().then(|| {
                let search = query.search.trim().to_lowercase();
                self.order
                    .iter()
                    .filter(|id| self.entries[*id].passes(query, &search))
                    .cloned()
                    .collect::<Vec<_>>()
            });
            // A new query that lets the same displays through (a search
            // typed one letter further, say) draws nothing anew.
            if took == Took::Order || filtered != self.filtered {
                self.generation += 1;
            }
            self.filtered = filtered;
            self.query = Some(query.clone());
        }
        self.generation
    }

    /// Takes in what changed, and says how far it reached.
    fn take(
        &mut self,
        view: &BTreeMap<String, Device>,
        changed: Changed,
        sort: (SortKey, bool),
    ) -> Took {
        let resort = self.sort != Some(sort);
        self.sort = Some(sort);
        let ids = match changed {
            Changed::Only(ids) if !resort && ids.len() <= MOVES => ids,
            Changed::Only(ids) => {
                for id in ids {
                    self.put(view, &id);
                }
                self.sort_all();
                return Took::Order;
            }
            Changed::All => {
                self.entries = view
                    .values()
                    .map(|d| (Arc::from(d.id.as_str()), Entry::of(d, &self.groups)))
                    .collect();
                self.order = self.entries.keys().cloned().collect();
                self.sort_all();
                return Took::Order;
            }
        };
        let mut took = Took::Nothing;
        for id in ids {
            let new = view.get(&id).map(|d| Entry::of(d, &self.groups));
            let old = self.entries.get(id.as_str());
            if old == new.as_ref() {
                continue;
            }
            let same_place = match (old, &new) {
                (Some(old), Some(new)) => compare(old, new, sort) == Ordering::Equal,
                _ => false,
            };
            if same_place {
                took = took.max(Took::Keys);
                self.entries
                    .insert(Arc::from(id.as_str()), new.expect("checked"));
                continue;
            }
            took = Took::Order;
            if let Some(old) = old {
                if let Ok(at) = self
                    .order
                    .binary_search_by(|probe| compare(&self.entries[probe], old, sort))
                {
                    self.order.remove(at);
                }
            }
            let key: Arc<str> = Arc::from(id.as_str());
            match new {
                Some(new) => {
                    let at = self
                        .order
                        .binary_search_by(|probe| compare(&self.entries[probe], &new, sort))
                        .unwrap_or_else(|at| at);
                    self.order.insert(at, key.clone());
                    self.entries.insert(key, new);
                }
                None => {
                    self.entries.remove(&key);
                }
            }
        }
        took
    }

    /// Takes `id` as `view` has it, without placing it in the order.
    fn put(&mut self, view: &BTreeMap<String, Device>, id: &str) {
        match view.get(id) {
            Some(d) => {
                let entry = Entry::of(d, &self.groups);
                if !self.entries.contains_key(id) {
                    self.order.push(entry.id.clone());
                }
                self.entries.insert(entry.id.clone(), entry);
            }
            None => {
                self.entries.remove(id);
                self.order.retain(|o| &**o != id);
            }
        }
    }

    fn sort_all(&mut self) {
        let sort = self.sort.unwrap_or((SortKey::Name, true));
        let entries = &self.entries;
        crate::model::order::sort_by(&mut self.order, |a, b| {
            compare(&entries[a], &entries[b], sort)
        });
    }

    /// The displays shown, in order.
    pub fn shown(&self) -> &[Arc<str>] {
        self.filtered.as_deref().unwrap_or(&self.order)
    }

    /// How many displays there are in all.
    pub fn total(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::store::fixtures::{rename, upserted};

    fn device(i: usize) -> Device {
        Device {
            id: format!("d{i:05}"),
            name: format!("Display {i:05}"),
            group_id: i.is_multiple_of(3).then(|| "g1".to_string()),
            tags: vec![format!("floor-{}", i % 7)],
            timezone: "Europe/Berlin".into(),
            status: DeviceStatus::Online,
            last_seen: Some(i as i64),
            playlist_id: None,
            paired: true,
            version: 1,
        }
    }

    fn fleet(n: usize) -> Store {
        let mut s = Store::default();
        s.seed_devices((0..n).map(device).collect(), 10);
        s.reset_seq(10);
        s
    }

    fn groups() -> Vec<DeviceGroup> {
        vec![DeviceGroup {
            id: "g1".into(),
            name: "Menu boards".into(),
            playlist_id: None,
            version: 1,
        }]
    }

    fn query(search: &str, status: &str, sort: (SortKey, bool)) -> Query {
        Query {
            search: search.into(),
            group: String::new(),
            status: status.into(),
            sort,
        }
    }

    /// What the index should show, computed the slow way.
    fn expected(store: &Store, q: &Query) -> Vec<String> {
        let groups: HashMap<String, String> =
            [("g1".to_string(), "Menu boards".to_string())].into();
        let search = q.search.trim().to_lowercase();
        let mut all: Vec<Entry> = store
            .devices()
            .iter()
            .map(|d| Entry::of(d, &groups))
            .filter(|e| e.passes(q, &search))
            .collect();
        all.sort_by(|a, b| compare(a, b, q.sort));
        all.into_iter().map(|e| e.id.to_string()).collect()
    }

    fn shown(index: &FleetIndex) -> Vec<String> {
        index.shown().iter().map(|id| id.to_string()).collect()
    }

    fn set_status(store: &mut Store, id: &str, version: i64, status: DeviceStatus) {
        let mut d = store.device(id).unwrap();
        d.status = status;
        d.version = version;
        let seq = store.seq() + 1;
        store.apply_event(&upserted(seq, None, d));
    }

    #[test]
    fn the_index_follows_changes_as_a_full_sort_would() {
        let mut store = fleet(2_000);
        let mut index = FleetIndex::default();
        let by_status = query("", "", (SortKey::Status, true));
        index.refresh(&store, &groups(), &by_status);
        assert_eq!(shown(&index), expected(&store, &by_status));
        for (n, i) in [7usize, 1_500, 42, 1_999].into_iter().enumerate() {
            set_status(
                &mut store,
                &format!("d{i:05}"),
                2 + n as i64,
                DeviceStatus::Error,
            );
        }
        index.refresh(&store, &groups(), &by_status);
        assert_eq!(shown(&index), expected(&store, &by_status));
        // Errors sort last, by name among themselves.
        let last: Vec<&str> = index.shown()[1_996..].iter().map(|id| &**id).collect();
        assert_eq!(last, ["d00007", "d00042", "d01500", "d01999"]);

        // An optimistic rename moves its display; undoing it moves it back.
        store
            .push(rename("o1", "d00003", 1, "Aardvark"), 0.0)
            .unwrap();
        let by_name = query("", "", (SortKey::Name, true));
        index.refresh(&store, &groups(), &by_name);
        assert_eq!(shown(&index), expected(&store, &by_name));
        assert_eq!(index.shown()[0].as_ref(), "d00003");

        let searching = query(" MENU boards ", "error", (SortKey::Name, false));
        index.refresh(&store, &groups(), &searching);
        assert_eq!(shown(&index), expected(&store, &searching));
        assert_eq!(shown(&index), vec!["d01500".to_string(), "d00042".into()]);
        assert_eq!(index.total(), 2_000);
    }

    #[test]
    fn a_status_change_that_keeps_the_order_keeps_the_generation() {
        let mut store = fleet(100);
        let mut index = FleetIndex::default();
        let by_name = query("", "", (SortKey::Name, true));
        let first = index.refresh(&store, &groups(), &by_name);
        assert_eq!(index.refresh(&store, &groups(), &by_name), first);
        set_status(&mut store, "d00050", 2, DeviceStatus::Offline);
        // Sorted by name with no filter, the shown list is the same; the row
        // itself is read from the store when drawn.
        assert_eq!(index.refresh(&store, &groups(), &by_name), first);
        assert_eq!(shown(&index), expected(&store, &by_name));
        // With a status filter on, the same kind of change is a new list.
        let offline = query("", "offline", (SortKey::Name, true));
        let filtered = index.refresh(&store, &groups(), &offline);
        assert_eq!(shown(&index), vec!["d00050".to_string()]);
        set_status(&mut store, "d00051", 2, DeviceStatus::Offline);
        assert_eq!(index.refresh(&store, &groups(), &offline), filtered + 1);
        assert_eq!(shown(&index), expected(&store, &offline));
    }

    #[test]
    fn a_new_search_that_shows_the_same_displays_keeps_the_generation() {
        let store = fleet(100);
        let mut index = FleetIndex::default();
        let menu = query("menu", "", (SortKey::Name, true));
        let first = index.refresh(&store, &groups(), &menu);
        let shown_first = shown(&index);
        // Every display in "Menu boards" matches both.
        let further = query("menu b", "", (SortKey::Name, true));
        assert_eq!(index.refresh(&store, &groups(), &further), first);
        assert_eq!(shown(&index), shown_first);
        assert_eq!(shown(&index), expected(&store, &further));
        // One that lets fewer through is a new list.
        let narrower = query("display 0000", "", (SortKey::Name, true));
        assert_eq!(index.refresh(&store, &groups(), &narrower), first + 1);
        assert_eq!(shown(&index), expected(&store, &narrower));
        // Clearing the search shows the whole fleet again.
        let all = query("", "", (SortKey::Name, true));
        assert_eq!(index.refresh(&store, &groups(), &all), first + 2);
        assert_eq!(shown(&index).len(), 100);
    }
}
