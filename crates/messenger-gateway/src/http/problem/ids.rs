//! Ids a client names in a path, a query or a body: at most
//! [`ID_MAX_CHARS`](messenger_validate::limits::ID_MAX_CHARS) characters, the same cap for every
//! id (profile ids, Messenger ids, message ids, event ids, quarantine keys). Longer ones are a
//! 400 naming the parameter or the field, and are never looked up or stored.

use messenger_validate::limits::ID_MAX_CHARS;

use super::{Problem, ProblemError};
use crate::http::auth::PathParams;

/// Whether `id` has more than [`ID_MAX_CHARS`] characters.
pub(crate) fn too_long(id: &str) -> bool {
    id.len() > ID_MAX_CHARS && id.chars().nth(ID_MAX_CHARS).is_some()
}

/// The path parameter `name`, or a 400 (`path.length`) naming it when it is longer than
/// [`ID_MAX_CHARS`].
pub(crate) fn path_id<'a>(params: &'a PathParams, name: &str) -> Result<&'a str, Problem> {
    let id = params.get(name)?;
    if too_long(id) {
        return Err(Problem::bad_request(
            "path.length",
            format!("the path parameter {name} takes at most {ID_MAX_CHARS} characters"),
        ));
    }
    Ok(id)
}

/// The entry for a query parameter `name` whose value is longer than [`ID_MAX_CHARS`]
/// (`query.length`), if it is.
pub(crate) fn query_id_error(name: &str, value: &str) -> Option<ProblemError> {
    too_long(value).then(|| {
        ProblemError::new(
            "",
            "query.length",
            format!("the query parameter {name} takes at most {ID_MAX_CHARS} characters"),
        )
    })
}

/// The entry for a body field at `pointer` (`/fbMessengerId`) whose value is longer than
/// [`ID_MAX_CHARS`] (`field.length`), if it is.
pub(crate) fn body_id_error(pointer: &str, value: &str) -> Option<ProblemError> {
    messenger_validate::check_id_at(value, pointer)
        .err()
        .map(|v| ProblemError::from_violation("", &v))
}
