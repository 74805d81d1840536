//! Personas (a page's named senders, for human agents): the shape of a persona id.

use crate::limits::PERSONA_ID_MAX_DIGITS;
use crate::{Violation, ViolationCode};

/// Checks a persona id (`channelOptions.fbMessenger.personaId`, a path's `{personaId}`): a
/// Graph object id, 1 to [`PERSONA_ID_MAX_DIGITS`] ASCII digits. `pointer` is where it is.
///
/// ```
/// use messenger_validate::{check_persona_id_at, ViolationCode};
/// assert!(check_persona_id_at("1234567890123456", "/personaId").is_ok());
/// let v = check_persona_id_at("alex", "/personaId").unwrap_err();
/// assert_eq!(v.code, ViolationCode::PersonaIdInvalid);
/// assert_eq!(v.pointer, "/personaId");
/// ```
pub fn check_persona_id_at(id: &str, pointer: &str) -> Result<(), Violation> {
    if !id.is_empty() && id.len() <= PERSONA_ID_MAX_DIGITS && id.bytes().all(|b| b.is_ascii_digit())
    {
        return Ok(());
    }
    Err(Violation {
        code: ViolationCode::PersonaIdInvalid,
        pointer: pointer.to_owned(),
        message: format!(
            "a persona id is the id Graph gave the persona: 1 to {PERSONA_ID_MAX_DIGITS} digits \
             (create one with POST /apispaces/{{space}}/channels/facebook/personas)"
        ),
        value: Some(id.chars().take(crate::limits::VALUE_MAX_CHARS).collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persona_ids() {
        assert!(check_persona_id_at("1", "").is_ok());
        assert!(check_persona_id_at(&"9".repeat(PERSONA_ID_MAX_DIGITS), "").is_ok());
        for bad in [
            "",
            " 1",
            "1a",
            "-1",
            "１２",
            &"9".repeat(PERSONA_ID_MAX_DIGITS + 1),
        ] {
            assert!(check_persona_id_at(bad, "").is_err(), "{bad:?}");
        }
    }
}
