//! [`ProfileStore`] for [`MemoryStore`].

use async_trait::async_trait;
use messenger_model::{FacebookProfile, Profile, Timestamp};

use super::{MemoryStore, State};
use crate::{check_profile_id, ProfileQuery, ProfileStore, StoreError};

fn key(space: &str, id: &str) -> (String, String) {
    (space.to_owned(), id.to_owned())
}

fn psid_key(space: &str, page_id: &str, psid: &str) -> (String, String, String) {
    (space.to_owned(), page_id.to_owned(), psid.to_owned())
}

impl State {
    fn space_profiles<'a>(&'a self, space: &'a str) -> impl Iterator<Item = &'a Profile> + 'a {
        self.profiles
            .range(key(space, "")..)
            .take_while(move |((s, _), _)| s == space)
            .map(|(_, p)| p)
    }
}

#[async_trait]
impl ProfileStore for MemoryStore {
    async fn get_profile(&self, space: &str, id: &str) -> Result<Option<Profile>, StoreError> {
        Ok(self.state()?.profiles.get(&key(space, id)).cloned())
    }

    async fn merge_profile(&self, space: &str, update: Profile) -> Result<Profile, StoreError> {
        check_profile_id(&update.id)?;
        let mut state = self.state()?;
        let entry = state
            .profiles
            .entry(key(space, &update.id))
            .or_insert_with(|| Profile::new(update.id.clone()));
        entry.merge(update);
        Ok(entry.clone())
    }

    async fn replace_profile(&self, space: &str, profile: Profile) -> Result<Profile, StoreError> {
        check_profile_id(&profile.id)?;
        let mut state = self.state()?;
        state
            .profiles
            .insert(key(space, &profile.id), profile.clone());
        Ok(profile)
    }

    async fn delete_profile(&self, space: &str, id: &str) -> Result<bool, StoreError> {
        let mut state = self.state()?;
        let existed = state.profiles.remove(&key(space, id)).is_some();
        state
            .links
            .retain(|(s, _, _), profile| !(s == space && profile == id));
        Ok(existed)
    }

    async fn find_by_messenger_id(
        &self,
        space: &str,
        page_id: &str,
        psid: &str,
    ) -> Result<Option<Profile>, StoreError> {
        let state = self.state()?;
        if let Some(id) = state.links.get(&psid_key(space, page_id, psid)) {
            return Ok(state.profiles.get(&key(space, id)).cloned());
        }
        let found = state
            .space_profiles(space)
            .find(|p| p.fb_messenger_id.as_deref() == Some(psid))
            .cloned();
        Ok(found)
    }

    async fn find_profiles(
        &self,
        space: &str,
        query: &ProfileQuery,
    ) -> Result<Vec<Profile>, StoreError> {
        let state = self.state()?;
        let found = state
            .space_profiles(space)
            .filter(|p| query.matches(p))
            .take(query.effective_limit())
            .cloned()
            .collect();
        Ok(found)
    }

    async fn link_messenger_id(
        &self,
        space: &str,
        profile_id: &str,
        page_id: &str,
        psid: &str,
    ) -> Result<Profile, StoreError> {
        check_profile_id(profile_id)?;
        let mut state = self.state()?;
        let previous = state
            .links
            .insert(psid_key(space, page_id, psid), profile_id.to_owned());
        if let Some(previous) = previous.filter(|p| p != profile_id) {
            if let Some(old) = state.profiles.get_mut(&key(space, &previous)) {
                if old.fb_messenger_id.as_deref() == Some(psid) {
                    old.fb_messenger_id = None;
                }
            }
        }
        let profile = state
            .profiles
            .entry(key(space, profile_id))
            .or_insert_with(|| Profile::new(profile_id));
        profile.fb_messenger_id = Some(psid.to_owned());
        Ok(profile.clone())
    }

    async fn set_facebook_profile(
        &self,
        space: &str,
        profile_id: &str,
        facebook: FacebookProfile,
    ) -> Result<Option<Profile>, StoreError> {
        let mut state = self.state()?;
        Ok(state.profiles.get_mut(&key(space, profile_id)).map(|p| {
            p.facebook = Some(facebook);
            p.clone()
        }))
    }

    async fn record_inbound(
        &self,
        space: &str,
        page_id: &str,
        psid: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut state = self.state()?;
        let last = state
            .inbound
            .entry(psid_key(space, page_id, psid))
            .or_insert(at);
        *last = (*last).max(at);
        Ok(())
    }

    async fn last_inbound(
        &self,
        space: &str,
        page_id: &str,
        psid: &str,
    ) -> Result<Option<Timestamp>, StoreError> {
        Ok(self
            .state()?
            .inbound
            .get(&psid_key(space, page_id, psid))
            .copied())
    }
}
