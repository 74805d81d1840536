//! [`ProfileStore`] for [`MemoryStore`].

use async_trait::async_trait;
use messenger_model::{FacebookProfile, Profile, Timestamp};

use super::{MemoryStore, State};
use crate::implementors::check_profile_id;
use crate::{Linked, ProfileQuery, ProfileStore, StoreError};

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

    /// Refuses `profile`'s `fbMessengerId` when another profile of `space` holds it.
    fn check_messenger_id_free(&self, space: &str, profile: &Profile) -> Result<(), StoreError> {
        let Some(psid) = profile.fb_messenger_id.as_deref() else {
            return Ok(());
        };
        match self
            .space_profiles(space)
            .find(|p| p.id != profile.id && p.fb_messenger_id.as_deref() == Some(psid))
        {
            Some(holder) => Err(StoreError::MessengerIdTaken {
                profile_id: holder.id.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Whether `profile_id` has a link of `psid` on a page other than `page_id`.
    fn linked_elsewhere(&self, space: &str, page_id: &str, psid: &str, profile_id: &str) -> bool {
        self.links.iter().any(|((s, page, p), owner)| {
            s == space && page != page_id && p == psid && owner == profile_id
        })
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
        let mut merged = state
            .profiles
            .get(&key(space, &update.id))
            .cloned()
            .unwrap_or_else(|| Profile::new(update.id.clone()));
        merged.merge(update);
        state.check_messenger_id_free(space, &merged)?;
        state
            .profiles
            .insert(key(space, &merged.id), merged.clone());
        Ok(merged)
    }

    async fn replace_profile(&self, space: &str, profile: Profile) -> Result<Profile, StoreError> {
        check_profile_id(&profile.id)?;
        let mut state = self.state()?;
        state.check_messenger_id_free(space, &profile)?;
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
    ) -> Result<Linked, StoreError> {
        check_profile_id(profile_id)?;
        let mut state = self.state()?;
        let previous = state
            .links
            .insert(psid_key(space, page_id, psid), profile_id.to_owned())
            .filter(|p| p != profile_id);
        // Profiles that hold the PSID in their field for this page: the one linked before,
        // and any holding it without a link of their own on another page.
        let holders: Vec<String> = state
            .space_profiles(space)
            .filter(|p| p.id != profile_id && p.fb_messenger_id.as_deref() == Some(psid))
            .map(|p| p.id.clone())
            .filter(|id| {
                previous.as_deref() == Some(id.as_str())
                    || !state.linked_elsewhere(space, page_id, psid, id)
            })
            .collect();
        for id in &holders {
            if let Some(old) = state.profiles.get_mut(&key(space, id)) {
                old.fb_messenger_id = None;
            }
        }
        let profile = state
            .profiles
            .entry(key(space, profile_id))
            .or_insert_with(|| Profile::new(profile_id));
        profile.fb_messenger_id = Some(psid.to_owned());
        Ok(Linked {
            profile: profile.clone(),
            moved_from: previous.or_else(|| holders.into_iter().next()),
        })
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
