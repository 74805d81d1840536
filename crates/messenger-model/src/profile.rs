//! Customer profiles (docs/design.md §3) and Graph's user profile.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A customer profile kept by the product, as the gateway's `/profiles` resource shows it.
///
/// Properties the product does not know are kept in [`Profile::custom`] and written back
/// unchanged.
///
/// ```
/// use messenger_model::Profile;
/// let p = Profile::new("alice").with_fb_messenger_id("1234").with_phone_number("+447700900123");
/// let json = serde_json::to_value(&p).unwrap();
/// assert_eq!(json["fbMessengerId"], "1234");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// The profile id, chosen by the business (opaque).
    pub id: String,
    /// The page-scoped Messenger ID (PSID) of this customer, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fb_messenger_id: Option<String>,
    /// The customer's Instagram-scoped IDs (IGSIDs), one per Instagram professional account
    /// of the business: account id (the `entry.id` of Instagram webhooks) to IGSID. An IGSID
    /// is scoped to one account, so a customer who writes to two accounts has two.
    ///
    /// Read leniently: a profile stored before this field existed may hold a custom property
    /// of this name in another shape; its string entries are kept and anything else is left
    /// out, so the profile still loads. (The gateway's API checks the shape of what it is
    /// given and names the field when it is wrong.)
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "string_entries"
    )]
    pub instagram_ids: BTreeMap<String, String>,
    /// Phone number in international format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// First name as the business knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name as the business knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// What Facebook's user profile API says of this customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facebook: Option<FacebookProfile>,
    /// Any other properties, kept as given.
    #[serde(flatten)]
    pub custom: Map<String, Value>,
}

impl Profile {
    /// An empty profile with this id.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }

    /// Sets the Messenger ID (PSID).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_fb_messenger_id(mut self, psid: impl Into<String>) -> Self {
        self.fb_messenger_id = Some(psid.into());
        self
    }

    /// Sets the customer's IGSID for one Instagram account (`account_id`, the professional
    /// account's id).
    ///
    /// ```
    /// use messenger_model::Profile;
    /// let p = Profile::new("alice").with_instagram_id("17841400000000001", "IGSID-1");
    /// assert_eq!(p.instagram_id_for("17841400000000001"), Some("IGSID-1"));
    /// assert_eq!(p.instagram_id_for("17841400000000002"), None);
    /// let json = serde_json::to_value(&p).unwrap();
    /// assert_eq!(json["instagramIds"]["17841400000000001"], "IGSID-1");
    /// ```
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_instagram_id(
        mut self,
        account_id: impl Into<String>,
        igsid: impl Into<String>,
    ) -> Self {
        self.instagram_ids.insert(account_id.into(), igsid.into());
        self
    }

    /// The customer's IGSID for one Instagram account, if the profile holds one.
    pub fn instagram_id_for(&self, account_id: &str) -> Option<&str> {
        self.instagram_ids.get(account_id).map(String::as_str)
    }

    /// Sets the phone number.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_phone_number(mut self, phone: impl Into<String>) -> Self {
        self.phone_number = Some(phone.into());
        self
    }

    /// Merges `update` into this profile: every field set in `update` replaces this one's, custom
    /// properties are merged key by key (a JSON `null` removes the key), Instagram IDs are
    /// merged account by account (an update names the accounts it sets), the id is kept.
    pub fn merge(&mut self, update: Profile) {
        fn take<T>(dst: &mut Option<T>, src: Option<T>) {
            if src.is_some() {
                *dst = src;
            }
        }
        take(&mut self.fb_messenger_id, update.fb_messenger_id);
        self.instagram_ids.extend(update.instagram_ids);
        take(&mut self.phone_number, update.phone_number);
        take(&mut self.email, update.email);
        take(&mut self.first_name, update.first_name);
        take(&mut self.last_name, update.last_name);
        take(&mut self.facebook, update.facebook);
        for (k, v) in update.custom {
            if v.is_null() {
                self.custom.remove(&k);
            } else {
                self.custom.insert(k, v);
            }
        }
    }
}

/// The `facebook` section of a profile, filled from Graph's user profile API.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FacebookProfile {
    /// First name on Facebook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name on Facebook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// URL of the profile picture (it expires; Meta rotates these URLs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_pic: Option<String>,
    /// Locale, e.g. `en_GB` (needs an extra page permission; may be missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Gender as Facebook reports it (may be missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// Offset from UTC in hours (may be fractional; may be missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<f64>,
}

/// Graph's user profile (`GET /{PSID}?fields=first_name,last_name,profile_pic,locale,timezone,gender`),
/// in Graph's snake_case.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UserProfile {
    /// The PSID the profile belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Profile picture URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_pic: Option<String>,
    /// Locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Offset from UTC in hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<f64>,
    /// Gender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
}

impl From<UserProfile> for FacebookProfile {
    fn from(u: UserProfile) -> Self {
        Self {
            first_name: u.first_name,
            last_name: u.last_name,
            profile_pic: u.profile_pic,
            locale: u.locale,
            gender: u.gender,
            timezone: u.timezone,
        }
    }
}

/// The string entries of a JSON object; nothing for any other value.
fn string_entries<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(match Value::deserialize(d)? {
        Value::Object(entries) => entries
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                _ => None,
            })
            .collect(),
        _ => BTreeMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instagram_ids_of_another_shape_do_not_stop_a_profile_loading() {
        let stored = serde_json::json!({"id": "p", "instagramIds": ["legacy"]});
        let p: Profile = serde_json::from_value(stored).unwrap();
        assert!(p.instagram_ids.is_empty());
        let stored = serde_json::json!({"id": "p", "instagramIds": {"acct": "IGSID-1", "n": 3}});
        let p: Profile = serde_json::from_value(stored).unwrap();
        assert_eq!(p.instagram_id_for("acct"), Some("IGSID-1"));
        assert_eq!(p.instagram_ids.len(), 1);
    }
}
