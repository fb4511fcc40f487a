//! One stable sort for every element type the browser sorts.
//!
//! `slice::sort_by` is instantiated once per element type and comparison
//! closure, about 4 KB of wasm each (the driftsort machinery): thirty-odd
//! copies were 140 KB of the bundle's code. Here the sorting is done once,
//! on positions, behind a `dyn` comparison; what stays generic per caller is
//! the comparison's call and moving the elements into their new order.
//! The server build sorts with the standard library.

use std::cmp::Ordering;

/// Sorts `items` by `compare`, stably (equal elements keep their order).
/// The server, where code size does not matter and the schedule sweep sorts
/// on every manifest, uses the standard sort directly.
// A `Vec`, not a slice: the browser's sort moves the elements out and back.
#[allow(clippy::ptr_arg)]
pub fn sort_by<T>(items: &mut Vec<T>, compare: impl FnMut(&T, &T) -> Ordering) {
    #[cfg(not(target_arch = "wasm32"))]
    items.sort_by(compare);
    #[cfg(target_arch = "wasm32")]
    sort_by_positions(items, compare);
}

/// [`sort_by`] as the browser does it: one sort of positions for all.
#[cfg(any(target_arch = "wasm32", test))]
fn sort_by_positions<T>(items: &mut Vec<T>, mut compare: impl FnMut(&T, &T) -> Ordering) {
    if items.len() < 2 {
        return;
    }
    let order = positions(items.len(), &mut |a, b| compare(&items[a], &items[b]));
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(order.into_iter().filter_map(|i| slots[i].take()));
}

/// Sorts `items` by the key `key` gives, stably.
pub fn sort_by_key<T, K: Ord>(items: &mut Vec<T>, mut key: impl FnMut(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

/// The positions `0..len` in the order `compare` puts them (stable).
#[cfg(any(target_arch = "wasm32", test))]
fn positions(len: usize, compare: &mut dyn FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_by(|a, b| compare(*a, *b));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_sorts_as_the_standard_library_does_keeping_ties_in_order() {
        let mut seed = 7u64;
        let mut items: Vec<(u8, usize)> = (0..500)
            .map(|i| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((seed >> 59) as u8, i)
            })
            .collect();
        let mut expected = items.clone();
        expected.sort_by_key(|a| a.0);
        sort_by_positions(&mut items, |a, b| a.0.cmp(&b.0));
        assert_eq!(items, expected);
        sort_by_key(&mut items, |x| std::cmp::Reverse(x.1));
        assert_eq!(items.first().map(|x| x.1), Some(499));
        let mut one = vec![1];
        sort_by_positions(&mut one, |a: &i32, b| a.cmp(b));
        assert_eq!(one, vec![1]);
    }
}
