//! The personas API: `POST /me/personas`, `GET /me/personas`, `DELETE /{persona-id}`.

use messenger_model::graph::{CreatedId, NewPersona, Persona, PersonaList, SuccessResponse};
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::Url;

use super::{GraphClient, PageAuth};
use crate::Error;

/// The most personas Graph is asked for in one page of `GET /me/personas`.
pub const MAX_PERSONAS_PER_PAGE: u32 = 100;

/// Longest persona id accepted (Graph ids are decimal, about 16 digits).
const MAX_PERSONA_ID_LEN: usize = 32;

impl GraphClient {
    /// Creates a persona of the page (`POST /me/personas`) and returns it with the id Graph gave
    /// it.
    ///
    /// ```no_run
    /// # async fn demo(client: messenger_graph::GraphClient) -> Result<(), messenger_graph::Error> {
    /// use messenger_model::graph::NewPersona;
    /// let alex = client
    ///     .create_persona(&NewPersona::new("Alex from Support", "https://example.com/alex.png"))
    ///     .await?;
    /// println!("persona {}", alex.id);
    /// # Ok(()) }
    /// ```
    pub async fn create_persona(&self, persona: &NewPersona) -> Result<Persona, Error> {
        let page = self.page()?;
        if persona.name.trim().is_empty() || persona.profile_picture_url.is_empty() {
            return Err(Error::InvalidInput {
                reason: "a persona needs a name and a profile_picture_url".into(),
            });
        }
        let bytes = serde_json::to_vec(persona).map_err(|e| Error::InvalidInput {
            reason: format!("the persona does not serialise to JSON: {e}"),
        })?;
        let request = self
            .shared
            .http()
            .post(self.page_url(&page, &["me", "personas"])?)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(bytes);
        let created: CreatedId = self.execute(&page, request).await?;
        Ok(Persona {
            id: created.id,
            name: persona.name.clone(),
            profile_picture_url: Some(persona.profile_picture_url.clone()),
        })
    }

    /// One page of the page's personas (`GET /me/personas`): the first with `after: None`, the
    /// next with the previous page's [`PersonaList::next_cursor`]. `limit` is capped at
    /// [`MAX_PERSONAS_PER_PAGE`].
    pub async fn personas(&self, after: Option<&str>, limit: u32) -> Result<PersonaList, Error> {
        let page = self.page()?;
        let mut url = self.page_url(&page, &["me", "personas"])?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("limit", &limit.clamp(1, MAX_PERSONAS_PER_PAGE).to_string());
            if let Some(after) = after {
                query.append_pair("after", after);
            }
        }
        let request = self.shared.http().get(url);
        self.execute(&page, request).await
    }

    /// Deletes a persona (`DELETE /{persona-id}`). An unknown id is Graph's error 100/33
    /// ([`ErrorKind::InvalidRecipient`](crate::ErrorKind::InvalidRecipient): no such object).
    pub async fn delete_persona(&self, persona_id: &str) -> Result<(), Error> {
        let page = self.page()?;
        check_persona_id(persona_id)?;
        let request = self
            .shared
            .http()
            .delete(self.page_url(&page, &[persona_id])?);
        let answer: SuccessResponse = self.execute(&page, request).await?;
        if answer.success {
            Ok(())
        } else {
            Err(Error::other(
                crate::ErrorKind::Permanent,
                "Graph answered success: false to the persona's deletion",
            ))
        }
    }

    /// `{api root}/{segments...}` on the account's host, with the account's `appsecret_proof`,
    /// if any.
    pub(super) fn page_url(&self, page: &PageAuth, segments: &[&str]) -> Result<Url, Error> {
        let mut url = page.api_root.clone();
        url.path_segments_mut()
            .map_err(|()| Error::Config {
                reason: "the base URL cannot have a path".into(),
            })?
            .pop_if_empty()
            .extend(segments);
        if let Some(proof) = &page.proof {
            url.query_pairs_mut().append_pair("appsecret_proof", proof);
        }
        Ok(url)
    }
}

fn check_persona_id(id: &str) -> Result<(), Error> {
    if !id.is_empty() && id.len() <= MAX_PERSONA_ID_LEN && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::InvalidInput {
            reason: format!("a persona id is 1-{MAX_PERSONA_ID_LEN} digits"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persona_ids() {
        assert!(check_persona_id("1234567890123456").is_ok());
        for bad in ["", "me", "12/34", "1?x=2", &"9".repeat(33)] {
            assert!(check_persona_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_carry_the_proof_not_the_token() {
        let c = GraphClient::builder()
            .base_url("http://127.0.0.1:1")
            .version("v26.0")
            .page_access_token("TOKEN-abc")
            .app_secret("S")
            .build()
            .unwrap();
        let page = c.page().unwrap();
        let url = c.page_url(&page, &["me", "personas"]).unwrap();
        assert!(url
            .as_str()
            .starts_with("http://127.0.0.1:1/v26.0/me/personas?appsecret_proof="));
        assert!(!url.as_str().contains("TOKEN"));
    }
}
