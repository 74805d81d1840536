//! Personas, kept per page while the simulator runs: Graph's limits on them and the book of
//! every page's personas (the endpoints are in `persona_api.rs`). A send's `persona_id` must
//! name a persona of the sending page.

use messenger_model::graph::Persona;

use crate::graph_api::GraphFailure;
use crate::sync::lock;

/// The longest persona name Graph accepts (characters).
pub const MAX_PERSONA_NAME_CHARS: usize = 50;
/// Personas per page of the list when the request names no `limit`.
pub const DEFAULT_PERSONA_LIMIT: usize = 25;
/// The most personas in one page of the list.
pub const MAX_PERSONA_LIMIT: usize = 100;

/// Every page's personas, in the order they were created.
#[derive(Debug, Default)]
pub(crate) struct PersonaBook {
    /// `(page id, persona)`.
    personas: std::sync::Mutex<Vec<(String, Persona)>>,
}

impl PersonaBook {
    /// Whether `persona_id` is a persona of `page_id`.
    pub(crate) fn knows(&self, page_id: &str, persona_id: &str) -> bool {
        self.get(page_id, persona_id).is_some()
    }

    /// Persona `persona_id` of `page_id`.
    pub(crate) fn get(&self, page_id: &str, persona_id: &str) -> Option<Persona> {
        lock(&self.personas)
            .iter()
            .find(|(page, p)| page == page_id && p.id == persona_id)
            .map(|(_, p)| p.clone())
    }

    /// Every persona of `page_id`, in creation order.
    pub(crate) fn of_page(&self, page_id: &str) -> Vec<Persona> {
        lock(&self.personas)
            .iter()
            .filter(|(page, _)| page == page_id)
            .map(|(_, p)| p.clone())
            .collect()
    }

    pub(crate) fn insert(&self, page_id: &str, persona: Persona) {
        lock(&self.personas).push((page_id.to_owned(), persona));
    }

    pub(crate) fn remove(&self, page_id: &str, persona_id: &str) -> bool {
        let mut all = lock(&self.personas);
        let before = all.len();
        all.retain(|(page, p)| !(page == page_id && p.id == persona_id));
        all.len() != before
    }
}

/// Graph's answer for an id that is no object of the page (100/33).
pub(crate) fn no_such_object(verb: &str, id: &str) -> GraphFailure {
    GraphFailure::new(
        100,
        "GraphMethodException",
        format!(
            "Unsupported {verb} request. Object with ID '{id}' does not exist, cannot be loaded \
             due to missing permissions, or does not support this operation. Please read the \
             Graph API documentation at https://developers.facebook.com/docs/graph-api"
        ),
    )
    .subcode(33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personas_are_kept_per_page() {
        let book = PersonaBook::default();
        let alex = Persona {
            id: "11".into(),
            name: "Alex".into(),
            profile_picture_url: None,
        };
        book.insert("P", alex.clone());
        assert!(book.knows("P", "11"));
        assert!(!book.knows("Q", "11"));
        assert_eq!(book.of_page("P"), vec![alex]);
        assert!(!book.remove("Q", "11"));
        assert!(book.remove("P", "11"));
        assert!(book.of_page("P").is_empty());
    }
}
