//! What a client sending through an API key rotation must see: every answer 200 or 401, and
//! each key changing its answer exactly once.

/// Asserts that `answers` (key, status), in the order they were received, are all 200 or 401,
/// and that for each `(key, before, after)` of `switches` the key was answered `before` up to
/// one point and `after` from then on, both at least once.
pub(crate) fn assert_each_key_switches_once(
    answers: &[(&str, u16)],
    switches: [(&str, u16, u16); 2],
) {
    assert!(
        answers.iter().all(|(_, s)| *s == 200 || *s == 401),
        "{answers:?}"
    );
    for (key, before, after) in switches {
        let seen: Vec<u16> = answers
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, s)| *s)
            .collect();
        let switch = seen
            .iter()
            .position(|s| *s == after)
            .unwrap_or_else(|| panic!("{key}: the answer never changed: {seen:?}"));
        assert!(switch > 0, "{key}: {seen:?}");
        assert!(
            seen[..switch].iter().all(|s| *s == before),
            "{key}: {seen:?}"
        );
        assert!(
            seen[switch..].iter().all(|s| *s == after),
            "{key}: {seen:?}"
        );
    }
}
