//! Personas: a page's named senders for human agents (a name and a picture shown with the
//! messages), managed through the space's Graph transport. A send names one with
//! `channelOptions.fbMessenger.personaId`.

use messenger_model::graph::{NewPersona, Persona, PersonaList};

use crate::{Error, Messenger};

impl Messenger {
    /// Creates a persona of space `space_id`'s page and returns it with the id Graph gave it.
    /// The caller checks the name and picture URL first; Graph's refusals are [`Error::Graph`].
    pub async fn create_persona(
        &self,
        space_id: &str,
        persona: &NewPersona,
    ) -> Result<Persona, Error> {
        let space = self.space(space_id)?;
        let space = &*space;
        Ok(space.transport.create_persona(persona).await?)
    }

    /// One page of the personas of space `space_id`'s page: the first with `after: None`, then
    /// the previous page's [`PersonaList::next_cursor`].
    pub async fn personas(
        &self,
        space_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<PersonaList, Error> {
        let space = self.space(space_id)?;
        let space = &*space;
        Ok(space.transport.personas(after, limit).await?)
    }

    /// Deletes persona `persona_id` of space `space_id`'s page. An id Graph does not know is an
    /// [`Error::Graph`] of kind `InvalidRecipient` (Graph's 100/33: no such object).
    pub async fn delete_persona(&self, space_id: &str, persona_id: &str) -> Result<(), Error> {
        let space = self.space(space_id)?;
        let space = &*space;
        Ok(space.transport.delete_persona(persona_id).await?)
    }
}
