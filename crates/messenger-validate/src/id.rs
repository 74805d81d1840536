//! Ids a client names (a profile id, a Messenger id): at most [`ID_MAX_CHARS`] characters.

use crate::limits::{ID_MAX_CHARS, VALUE_MAX_CHARS};
use crate::report::longer_than;
use crate::{Violation, ViolationCode};

/// Checks that an id at `pointer` has at most [`ID_MAX_CHARS`] characters (`field.length`).
///
/// ```
/// use messenger_validate::{check_id_at, limits::ID_MAX_CHARS, ViolationCode};
/// assert!(check_id_at("alice", "/to/profileId").is_ok());
/// let v = check_id_at(&"a".repeat(ID_MAX_CHARS + 1), "/to/profileId").unwrap_err();
/// assert_eq!(v.code, ViolationCode::FieldLength);
/// assert_eq!(v.pointer, "/to/profileId");
/// ```
pub fn check_id_at(id: &str, pointer: &str) -> Result<(), Violation> {
    if !longer_than(id, ID_MAX_CHARS) {
        return Ok(());
    }
    let name = pointer.rsplit('/').next().unwrap_or(pointer);
    Err(Violation {
        code: ViolationCode::FieldLength,
        pointer: pointer.to_owned(),
        message: format!("{name} takes at most {ID_MAX_CHARS} characters"),
        value: Some(id.chars().take(VALUE_MAX_CHARS).collect()),
    })
}
