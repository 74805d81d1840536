//! Customer profiles: the [`ProfileStore`] trait.
//!
//! A profile is keyed by `(space, profile id)`. Messenger IDs (PSIDs) are page-scoped: the store
//! keeps links `(space, page id, psid) -> profile id`, learned from opt-ins and inbound messages,
//! and the time of the user's last inbound message per `(space, page id, psid)` (the 24-hour
//! window of Messenger's policy).

use async_trait::async_trait;
use messenger_model::{FacebookProfile, Profile, Timestamp};

use crate::StoreError;

/// What to look profiles up by (`GET /profiles?fbMessengerId=&phoneNumber=&cursor=`). Set fields
/// must all match; a query with no field set matches every profile of the space (a listing, paged
/// with [`ProfileQuery::after`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileQuery {
    /// The profile's `fbMessengerId` field.
    pub fb_messenger_id: Option<String>,
    /// The profile's `phoneNumber` field.
    pub phone_number: Option<String>,
    /// Only profiles whose id sorts after this one (keyset paging: the last id of the previous
    /// page). Ids compare as the store orders them (byte order of their UTF-8).
    pub after: Option<String>,
    /// At most this many profiles (ordered by id); `0` means the store's default of 100.
    pub limit: usize,
}

impl ProfileQuery {
    /// The default and largest page size.
    pub const MAX_LIMIT: usize = 1000;

    /// The number of profiles to return: `limit`, 100 when 0, never more than
    /// [`ProfileQuery::MAX_LIMIT`].
    pub fn effective_limit(&self) -> usize {
        match self.limit {
            0 => 100,
            n => n.min(Self::MAX_LIMIT),
        }
    }

    /// Whether `profile` matches (used by stores that filter in memory).
    pub fn matches(&self, profile: &Profile) -> bool {
        if self
            .after
            .as_deref()
            .is_some_and(|after| profile.id.as_str() <= after)
        {
            return false;
        }
        let field_ok = |want: &Option<String>, have: &Option<String>| match want {
            Some(w) => have.as_deref() == Some(w.as_str()),
            None => true,
        };
        field_ok(&self.fb_messenger_id, &profile.fb_messenger_id)
            && field_ok(&self.phone_number, &profile.phone_number)
    }
}

/// What [`ProfileStore::link_messenger_id`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Linked {
    /// The profile, as stored.
    pub profile: Profile,
    /// The profile the Messenger ID was taken from, when another one held it.
    pub moved_from: Option<String>,
}

/// Where profiles live.
///
/// Every operation is scoped by API space: nothing of one space is visible from another.
#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// The profile `id` of `space`, if there is one.
    async fn get_profile(&self, space: &str, id: &str) -> Result<Option<Profile>, StoreError>;

    /// Creates the profile if it does not exist, or merges `update` into it
    /// ([`Profile::merge`]: set fields replace, custom properties merge key by key, a JSON `null`
    /// removes a key). Returns the profile as stored.
    ///
    /// A `fbMessengerId` that another profile of the space holds is refused with
    /// [`StoreError::MessengerIdTaken`] (checked atomically with the write).
    async fn merge_profile(&self, space: &str, update: Profile) -> Result<Profile, StoreError>;

    /// Creates or replaces the profile as a whole (HTTP `PUT`). Messenger ID links and the
    /// inbound window are kept. Returns the profile as stored. A `fbMessengerId` that another
    /// profile of the space holds is refused, as in [`ProfileStore::merge_profile`].
    async fn replace_profile(&self, space: &str, profile: Profile) -> Result<Profile, StoreError>;

    /// Deletes the profile and its Messenger ID links. Returns whether it existed.
    async fn delete_profile(&self, space: &str, id: &str) -> Result<bool, StoreError>;

    /// The profile the page-scoped Messenger ID `psid` of `page_id` belongs to: the linked one
    /// ([`ProfileStore::link_messenger_id`]) or, when no link exists, the profile (lowest id)
    /// whose `fbMessengerId` field is `psid` (set through the API, page unknown).
    async fn find_by_messenger_id(
        &self,
        space: &str,
        page_id: &str,
        psid: &str,
    ) -> Result<Option<Profile>, StoreError>;

    /// Profiles whose fields match `query`, ordered by id.
    async fn find_profiles(
        &self,
        space: &str,
        query: &ProfileQuery,
    ) -> Result<Vec<Profile>, StoreError>;

    /// Profiles whose `phoneNumber` is `phone`, ordered by id (at most 100).
    async fn find_by_phone_number(
        &self,
        space: &str,
        phone: &str,
    ) -> Result<Vec<Profile>, StoreError> {
        let query = ProfileQuery {
            phone_number: Some(phone.to_owned()),
            ..ProfileQuery::default()
        };
        self.find_profiles(space, &query).await
    }

    /// Links the Messenger ID `psid` of page `page_id` to profile `profile_id`, creating the
    /// profile if it does not exist, and sets the profile's `fbMessengerId` to `psid`.
    ///
    /// A PSID belongs to one profile per page: a link of this page to another profile is moved,
    /// and another profile whose `fbMessengerId` field holds `psid` without a link of its own
    /// on another page loses the field. [`Linked::moved_from`] names the profile it was taken
    /// from, so the caller can say so (the move is never silent).
    async fn link_messenger_id(
        &self,
        space: &str,
        profile_id: &str,
        page_id: &str,
        psid: &str,
    ) -> Result<Linked, StoreError>;

    /// Replaces the profile's `facebook` section (from Graph's user profile API). Returns the
    /// profile, or `None` when it does not exist.
    async fn set_facebook_profile(
        &self,
        space: &str,
        profile_id: &str,
        facebook: FacebookProfile,
    ) -> Result<Option<Profile>, StoreError>;

    /// Remembers that the user `psid` wrote to page `page_id` at `at`. The stored time only
    /// moves forward (a redelivered older message does not shrink the window).
    async fn record_inbound(
        &self,
        space: &str,
        page_id: &str,
        psid: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// When the user `psid` last wrote to page `page_id`, if the store has seen it.
    async fn last_inbound(
        &self,
        space: &str,
        page_id: &str,
        psid: &str,
    ) -> Result<Option<Timestamp>, StoreError>;
}

/// Checks what every store requires of a profile id: non-empty.
pub fn check_profile_id(id: &str) -> Result<(), StoreError> {
    if id.is_empty() {
        return Err(StoreError::invalid("a profile id must not be empty"));
    }
    Ok(())
}
