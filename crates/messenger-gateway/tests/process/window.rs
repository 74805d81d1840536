//! Counting sends in time windows (shared with the load harness's `pages` scenario).

/// The most sends among `at` (milliseconds) in any window of one second.
pub(crate) fn max_in_one_second(at: &mut [i64]) -> usize {
    at.sort_unstable();
    let mut most = 0;
    let mut first = 0;
    for last in 0..at.len() {
        while at[last] - at[first] >= 1_000 {
            first += 1;
        }
        most = most.max(last + 1 - first);
    }
    most
}

#[test]
fn the_window_count_is_the_most_in_any_second() {
    assert_eq!(max_in_one_second(&mut [0, 999, 1_000, 1_001, 2_500]), 3);
    assert_eq!(max_in_one_second(&mut [5, 5, 5]), 3);
    assert_eq!(max_in_one_second(&mut []), 0);
}
