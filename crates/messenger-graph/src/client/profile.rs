//! The user profile API (`GET /{psid}?fields=...`).

use messenger_model::UserProfile;

use super::GraphClient;
use crate::Error;

/// The profile fields asked for. Locale, timezone and gender need extra page permissions; when
/// the page lacks them Graph leaves them out and [`UserProfile`] has them as `None`.
pub const USER_PROFILE_FIELDS: &str = "first_name,last_name,profile_pic,locale,timezone,gender";

/// Longest PSID accepted (PSIDs are decimal ids of about 16 digits).
const MAX_PSID_LEN: usize = 64;

impl GraphClient {
    /// Fetches a person's profile by PSID.
    ///
    /// ```no_run
    /// # async fn demo(client: messenger_graph::GraphClient) -> Result<(), messenger_graph::Error> {
    /// let profile = client.user_profile("1234567890").await?;
    /// println!("{:?} {:?}", profile.first_name, profile.locale);
    /// # Ok(()) }
    /// ```
    pub async fn user_profile(&self, psid: &str) -> Result<UserProfile, Error> {
        let page = self.page()?;
        check_psid(psid)?;
        let mut url = page.api_root.clone();
        url.path_segments_mut()
            .map_err(|()| Error::Config {
                reason: "the base URL cannot have a path".into(),
            })?
            .pop_if_empty()
            .push(psid);
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("fields", USER_PROFILE_FIELDS);
            if let Some(proof) = &page.proof {
                query.append_pair("appsecret_proof", proof);
            }
        }
        let request = self.shared.http().get(url);
        self.execute(&page, request).await
    }
}

fn check_psid(psid: &str) -> Result<(), Error> {
    let ok = !psid.is_empty()
        && psid.len() <= MAX_PSID_LEN
        && psid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput {
            reason: "a PSID is 1-64 characters from A-Z a-z 0-9 _ -".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psids() {
        assert!(check_psid("1234567890123456").is_ok());
        for bad in ["", "../me", "1 2", "1?x=2", "12/34", &"9".repeat(65)] {
            assert!(check_psid(bad).is_err(), "{bad}");
        }
    }
}
