//! Addressing (docs/design.md §4): which Messenger recipient and which SMS number a request
//! reaches, and how a send with `profileId` updates that profile.
//!
//! Pure functions over the request's `to`, the stored profile (if any) and the space's settings,
//! so the precedence can be checked exhaustively by property tests.

use messenger_model::graph::{Recipient, RecipientName};
use messenger_model::{Profile, To};

/// Where an address came from, for the rule trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressSource {
    /// `to.fbMessengerId`.
    ToFbMessengerId,
    /// `to.phoneNumber`, by customer matching.
    ToPhoneNumber,
    /// `to.mobileNumber` (SMS).
    ToMobileNumber,
    /// The profile's `fbMessengerId`.
    ProfileFbMessengerId,
    /// The profile's `phoneNumber` (customer matching for Messenger; SMS).
    ProfilePhoneNumber,
    /// `to.instagramId`.
    ToInstagramId,
    /// `to.commentId` (a private reply on Instagram).
    ToCommentId,
    /// The profile's IGSID for one of the space's Instagram accounts.
    ProfileInstagramId,
}

impl AddressSource {
    /// How the trace names it.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::ToFbMessengerId => "to.fbMessengerId",
            Self::ToPhoneNumber => "to.phoneNumber",
            Self::ToMobileNumber => "to.mobileNumber",
            Self::ProfileFbMessengerId => "profile.fbMessengerId",
            Self::ProfilePhoneNumber => "profile.phoneNumber",
            Self::ToInstagramId => "to.instagramId",
            Self::ToCommentId => "to.commentId",
            Self::ProfileInstagramId => "profile.instagramIds",
        }
    }
}

/// A resolved Messenger recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessengerAddress {
    /// The Graph recipient.
    pub recipient: Recipient,
    /// Where it came from.
    pub source: AddressSource,
}

/// A resolved Instagram recipient: the account to send from and who to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstagramAddress {
    /// The space's Instagram account (its `user_id`).
    pub account_id: String,
    /// The Graph recipient: an IGSID, or a comment for a private reply.
    pub recipient: Recipient,
    /// Where it came from.
    pub source: AddressSource,
}

/// A resolved SMS number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsAddress {
    /// The number.
    pub number: String,
    /// Where it came from.
    pub source: AddressSource,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The Messenger recipient for `to`, first that applies:
/// 1. `to.fbMessengerId`;
/// 2. `to.phoneNumber` (with `firstName`/`lastName` when both are given), only when the space
///    enables customer matching;
/// 3. the profile's `fbMessengerId`, then its phone number if matching is enabled.
///
/// `None` means Messenger cannot address this recipient (the rule is skipped).
///
/// ```
/// use messenger::addressing::{resolve_messenger, AddressSource};
/// use messenger_model::{Profile, To};
/// let profile = Profile::new("alice").with_fb_messenger_id("PSID-9");
/// let got = resolve_messenger(&To::profile("alice"), Some(&profile), false).unwrap();
/// assert_eq!(got.recipient.id.as_deref(), Some("PSID-9"));
/// assert_eq!(got.source, AddressSource::ProfileFbMessengerId);
/// ```
pub fn resolve_messenger(
    to: &To,
    profile: Option<&Profile>,
    customer_matching: bool,
) -> Option<MessengerAddress> {
    if let Some(psid) = non_empty(&to.fb_messenger_id) {
        return Some(MessengerAddress {
            recipient: Recipient::psid(psid),
            source: AddressSource::ToFbMessengerId,
        });
    }
    if customer_matching {
        if let Some(phone) = non_empty(&to.phone_number) {
            let name = match (non_empty(&to.first_name), non_empty(&to.last_name)) {
                (Some(first), Some(last)) => Some(RecipientName {
                    first_name: first.to_owned(),
                    last_name: last.to_owned(),
                }),
                _ => None,
            };
            return Some(MessengerAddress {
                recipient: Recipient::phone(phone, name),
                source: AddressSource::ToPhoneNumber,
            });
        }
    }
    let profile = profile?;
    if let Some(psid) = non_empty(&profile.fb_messenger_id) {
        return Some(MessengerAddress {
            recipient: Recipient::psid(psid),
            source: AddressSource::ProfileFbMessengerId,
        });
    }
    if customer_matching {
        if let Some(phone) = non_empty(&profile.phone_number) {
            let name = match (
                non_empty(&profile.first_name),
                non_empty(&profile.last_name),
            ) {
                (Some(first), Some(last)) => Some(RecipientName {
                    first_name: first.to_owned(),
                    last_name: last.to_owned(),
                }),
                _ => None,
            };
            return Some(MessengerAddress {
                recipient: Recipient::phone(phone, name),
                source: AddressSource::ProfilePhoneNumber,
            });
        }
    }
    None
}

/// The Instagram recipient for `to`, from the space's Instagram `accounts` (their ids, in the
/// space's order), first that applies:
/// 1. `to.commentId`: a private reply to the comment;
/// 2. `to.instagramId`: that IGSID;
/// 3. the profile's IGSID for the first account it holds one for.
///
/// From the account `to.instagramAccountId` names (which must be one of `accounts`), else the
/// first account (an IGSID and a comment do not name their account). There is no phone-number
/// matching on Instagram. `None`: Instagram cannot address this recipient from this space (the
/// rule is skipped).
///
/// ```
/// use messenger::addressing::{resolve_instagram, AddressSource};
/// use messenger_model::{Profile, To};
/// let profile = Profile::new("alice").with_instagram_id("ACCT-2", "IGSID-9");
/// let got = resolve_instagram(&To::profile("alice"), Some(&profile), &["ACCT-1", "ACCT-2"]).unwrap();
/// assert_eq!((got.account_id.as_str(), got.recipient.id.as_deref()), ("ACCT-2", Some("IGSID-9")));
/// assert_eq!(got.source, AddressSource::ProfileInstagramId);
/// assert!(resolve_instagram(&To::instagram_id("IGSID-1"), None, &[]).is_none());
/// let mut to = To::instagram_comment("C-1");
/// to.instagram_account_id = Some("ACCT-2".into());
/// assert_eq!(resolve_instagram(&to, None, &["ACCT-1", "ACCT-2"]).unwrap().account_id, "ACCT-2");
/// ```
pub fn resolve_instagram(
    to: &To,
    profile: Option<&Profile>,
    accounts: &[&str],
) -> Option<InstagramAddress> {
    let accounts: Vec<&str> = match non_empty(&to.instagram_account_id) {
        Some(named) => accounts.iter().copied().filter(|a| *a == named).collect(),
        None => accounts.to_vec(),
    };
    let first = accounts.first()?;
    let given = [
        (
            non_empty(&to.comment_id).map(Recipient::comment),
            AddressSource::ToCommentId,
        ),
        (
            non_empty(&to.instagram_id).map(Recipient::psid),
            AddressSource::ToInstagramId,
        ),
    ];
    if let Some((recipient, source)) = given.into_iter().find_map(|(r, s)| r.map(|r| (r, s))) {
        return Some(InstagramAddress {
            account_id: (*first).to_owned(),
            recipient,
            source,
        });
    }
    let profile = profile?;
    accounts.iter().find_map(|account| {
        let igsid = profile.instagram_id_for(account).map(str::trim)?;
        (!igsid.is_empty()).then(|| InstagramAddress {
            account_id: (*account).to_owned(),
            recipient: Recipient::psid(igsid),
            source: AddressSource::ProfileInstagramId,
        })
    })
}

/// The SMS number for `to`: `to.mobileNumber`, then `to.phoneNumber`, then the profile's phone.
pub fn resolve_sms(to: &To, profile: Option<&Profile>) -> Option<SmsAddress> {
    let candidates = [
        (non_empty(&to.mobile_number), AddressSource::ToMobileNumber),
        (non_empty(&to.phone_number), AddressSource::ToPhoneNumber),
        (
            profile.and_then(|p| non_empty(&p.phone_number)),
            AddressSource::ProfilePhoneNumber,
        ),
    ];
    candidates.into_iter().find_map(|(number, source)| {
        number.map(|n| SmsAddress {
            number: n.to_owned(),
            source,
        })
    })
}

/// The profile update a send with `to.profileId` implies: every other `to` field that is set
/// (`fbMessengerId`, `phoneNumber` (or else `mobileNumber`), `email`, `firstName`, `lastName`,
/// and unknown properties as custom properties). `None` without a `profileId`.
pub fn profile_update_from_to(to: &To) -> Option<Profile> {
    let id = non_empty(&to.profile_id)?;
    let keep = |s: &Option<String>| non_empty(s).map(str::to_owned);
    Some(Profile {
        id: id.to_owned(),
        fb_messenger_id: keep(&to.fb_messenger_id),
        // An IGSID is scoped to one Instagram account: the profile learns it only with the
        // account `to.instagramAccountId` names.
        instagram_ids: keep(&to.instagram_account_id)
            .zip(keep(&to.instagram_id))
            .into_iter()
            .collect(),
        phone_number: keep(&to.phone_number).or_else(|| keep(&to.mobile_number)),
        email: keep(&to.email),
        first_name: keep(&to.first_name),
        last_name: keep(&to.last_name),
        facebook: None,
        custom: to.other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn field() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            Just(Some(String::new())),
            Just(Some("  ".into())),
            "[a-z0-9]{1,6}".prop_map(Some)
        ]
    }

    fn to() -> impl Strategy<Value = To> {
        (field(), field(), field(), field(), field(), field()).prop_map(
            |(profile_id, fb, phone, mobile, first, last)| To {
                profile_id,
                fb_messenger_id: fb,
                phone_number: phone,
                mobile_number: mobile,
                first_name: first,
                last_name: last,
                ..To::default()
            },
        )
    }

    fn profile() -> impl Strategy<Value = Option<Profile>> {
        proptest::option::of((field(), field(), field(), field()).prop_map(
            |(fb, phone, first, last)| Profile {
                id: "p".into(),
                fb_messenger_id: fb,
                phone_number: phone,
                first_name: first,
                last_name: last,
                ..Profile::default()
            },
        ))
    }

    fn set(s: &Option<String>) -> Option<String> {
        non_empty(s).map(str::to_owned)
    }

    proptest! {
        #[test]
        fn messenger_resolution_obeys_precedence(to in to(), profile in profile(), matching in any::<bool>()) {
            let got = resolve_messenger(&to, profile.as_ref(), matching);
            let p_fb = profile.as_ref().and_then(|p| set(&p.fb_messenger_id));
            let p_phone = profile.as_ref().and_then(|p| set(&p.phone_number));
            let expected = if let Some(id) = set(&to.fb_messenger_id) {
                Some((Some(id), None, AddressSource::ToFbMessengerId))
            } else if let (true, Some(ph)) = (matching, set(&to.phone_number)) {
                Some((None, Some(ph), AddressSource::ToPhoneNumber))
            } else if let Some(id) = p_fb {
                Some((Some(id), None, AddressSource::ProfileFbMessengerId))
            } else if let (true, Some(ph)) = (matching, p_phone) {
                Some((None, Some(ph), AddressSource::ProfilePhoneNumber))
            } else {
                None
            };
            let actual = got.as_ref().map(|a| (a.recipient.id.clone(), a.recipient.phone_number.clone(), a.source));
            prop_assert_eq!(actual, expected);
            if let Some(a) = got {
                // Never an address that was not given: no user_ref, no token, and a phone
                // recipient only with customer matching on.
                prop_assert!(a.recipient.user_ref.is_none() && a.recipient.notification_messages_token.is_none());
                prop_assert!(a.recipient.phone_number.is_none() || matching);
                if let Some(name) = &a.recipient.name {
                    let from_to = set(&to.first_name) == Some(name.first_name.clone()) && set(&to.last_name) == Some(name.last_name.clone());
                    let from_profile = profile.as_ref().is_some_and(|p| set(&p.first_name) == Some(name.first_name.clone()) && set(&p.last_name) == Some(name.last_name.clone()));
                    prop_assert!(from_to || from_profile);
                }
            }
        }

        #[test]
        fn instagram_resolution_obeys_precedence(
            comment in field(),
            igsid in field(),
            named in prop_oneof![Just(None), Just(Some(String::new())), "A[0-4]".prop_map(Some)],
            held in proptest::collection::btree_map("A[0-3]", field(), 0..4),
            all in proptest::sample::subsequence(vec!["A0", "A1", "A2", "A3"], 0..=4),
        ) {
            let to = To {
                comment_id: comment.clone(),
                instagram_id: igsid.clone(),
                instagram_account_id: named.clone(),
                ..To::default()
            };
            // The accounts a send may go from: the one named (if the space has it), else all.
            let accounts: Vec<&str> = match set(&named) {
                Some(n) => all.iter().copied().filter(|a| *a == n).collect(),
                None => all.clone(),
            };
            let profile = Profile {
                id: "p".into(),
                instagram_ids: held.iter().filter_map(|(a, id)| id.clone().map(|id| (a.clone(), id))).collect(),
                ..Profile::default()
            };
            let got = resolve_instagram(&to, Some(&profile), &all)
                .map(|a| (a.account_id, a.recipient.id, a.recipient.comment_id, a.source));
            let first = accounts.first().map(|a| (*a).to_owned());
            let from_profile = accounts.iter().find_map(|a| {
                profile.instagram_ids.get(*a).and_then(|id| set(&Some(id.clone())))
                    .map(|id| ((*a).to_owned(), Some(id), None, AddressSource::ProfileInstagramId))
            });
            let expected = match (first, set(&comment), set(&igsid)) {
                (None, _, _) => None,
                (Some(a), Some(c), _) => Some((a, None, Some(c), AddressSource::ToCommentId)),
                (Some(a), None, Some(id)) => Some((a, Some(id), None, AddressSource::ToInstagramId)),
                (Some(_), None, None) => from_profile,
            };
            prop_assert_eq!(got.clone(), expected);
            // Never an account the space does not have, never a phone number.
            if let Some((account, ..)) = got {
                prop_assert!(accounts.contains(&account.as_str()));
            }
        }

        #[test]
        fn sms_resolution_obeys_precedence(to in to(), profile in profile()) {
            let got = resolve_sms(&to, profile.as_ref()).map(|a| (a.number, a.source));
            let expected = set(&to.mobile_number).map(|n| (n, AddressSource::ToMobileNumber))
                .or_else(|| set(&to.phone_number).map(|n| (n, AddressSource::ToPhoneNumber)))
                .or_else(|| profile.as_ref().and_then(|p| set(&p.phone_number)).map(|n| (n, AddressSource::ProfilePhoneNumber)));
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn profile_update_only_copies_given_fields(to in to()) {
            match profile_update_from_to(&to) {
                None => prop_assert!(set(&to.profile_id).is_none()),
                Some(p) => {
                    prop_assert_eq!(Some(p.id.clone()), set(&to.profile_id));
                    prop_assert_eq!(p.fb_messenger_id, set(&to.fb_messenger_id));
                    prop_assert_eq!(p.phone_number, set(&to.phone_number).or_else(|| set(&to.mobile_number)));
                    prop_assert!(p.facebook.is_none());
                }
            }
        }
    }
}
