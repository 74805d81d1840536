//! Personas: a page's named senders (a human agent's name and picture), created, listed and
//! deleted through `/me/personas` and `/{persona-id}`, and sent as with `persona_id`.

use serde::{Deserialize, Serialize};

/// The body of `POST /me/personas`.
///
/// ```
/// use messenger_model::graph::NewPersona;
/// let p = NewPersona::new("Alex from Support", "https://example.com/alex.png");
/// assert_eq!(
///     serde_json::to_string(&p).unwrap(),
///     r#"{"name":"Alex from Support","profile_picture_url":"https://example.com/alex.png"}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPersona {
    /// The name shown with the messages (Meta allows 50 characters).
    pub name: String,
    /// Where the persona's picture is (an `https` URL).
    pub profile_picture_url: String,
}

impl NewPersona {
    /// A persona called `name` with the picture at `profile_picture_url`.
    pub fn new(name: impl Into<String>, profile_picture_url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            profile_picture_url: profile_picture_url.into(),
        }
    }
}

/// A persona as Graph describes it (`GET /{persona-id}`, the entries of `GET /me/personas`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Persona {
    /// The persona id (what `persona_id` names).
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_picture_url: Option<String>,
}

/// One page of `GET /me/personas`: `{"data": [...], "paging": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PersonaList {
    /// The personas of this page.
    #[serde(default)]
    pub data: Vec<Persona>,
    /// Where the next page is, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

impl PersonaList {
    /// The cursor of the next page: `paging.cursors.after`, only when Graph says there is a
    /// next page (`paging.next`).
    pub fn next_cursor(&self) -> Option<&str> {
        let paging = self.paging.as_ref()?;
        paging.next.as_ref()?;
        paging.cursors.as_ref()?.after.as_deref()
    }
}

/// Graph's cursor paging.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Paging {
    /// The cursors around this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursors: Option<Cursors>,
    /// The URL of the next page (absent on the last page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Graph's `before` and `after` cursors.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Cursors {
    /// Before the first entry of the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// After the last entry of the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// Graph's answer to a created object: `{"id": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedId {
    /// The new object's id.
    pub id: String,
}

/// Graph's answer to a delete: `{"success": true}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SuccessResponse {
    /// Whether it was done.
    #[serde(default)]
    pub success: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_cursor_only_with_a_next_page() {
        let last: PersonaList = serde_json::from_str(
            r#"{"data":[{"id":"1","name":"A"}],"paging":{"cursors":{"before":"b","after":"a"}}}"#,
        )
        .unwrap();
        assert_eq!(last.next_cursor(), None);
        let more: PersonaList = serde_json::from_str(
            r#"{"data":[],"paging":{"cursors":{"after":"a"},"next":"https://graph/x"}}"#,
        )
        .unwrap();
        assert_eq!(more.next_cursor(), Some("a"));
        assert_eq!(PersonaList::default().next_cursor(), None);
    }
}
