//! [`Subject`]: who one customer is in one space, and whether a stored thing names them.

use messenger_model::{EventEnvelope, Profile};
use serde_json::Value;

use crate::MessageRecord;

/// One customer of one space, as erasure and export look for them: the profile (when it is
/// stored) and every identifier that names the customer there: the profile id, its Messenger
/// IDs (the profile's `fbMessengerId` and every PSID linked to it), its phone numbers
/// (`phoneNumber`, and a custom `mobileNumber`) and its e-mail address.
///
/// Identifiers compare exactly (case included), except phone numbers, which compare by their
/// digits (`+447700900123` and `447700900123` are one number).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subject {
    /// The API space.
    pub space: String,
    /// The profile id asked for.
    pub profile_id: String,
    /// The stored profile, if there is one.
    pub profile: Option<Profile>,
    /// Messenger IDs: `(page id, psid)`; the page is `None` for the profile's own
    /// `fbMessengerId` field when no link names it.
    pub messenger_ids: Vec<(Option<String>, String)>,
    /// Phone numbers, as stored.
    pub phone_numbers: Vec<String>,
    /// E-mail addresses.
    pub emails: Vec<String>,
    /// The pages of the space (the caller's configuration): a quarantined Meta body is the
    /// space's when it names one of these pages (or none).
    pub pages: Vec<String>,
}

/// The digits of a phone number written with an optional `+`, or `None` when `s` is not one.
fn phone_digits(s: &str) -> Option<&str> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

impl Subject {
    /// The subject for `profile` (or only the id, when `profile` is `None`) with the PSIDs
    /// `links` name for it, in a space whose pages are `pages`.
    pub fn new(
        space: &str,
        profile_id: &str,
        profile: Option<Profile>,
        links: Vec<(String, String)>,
        pages: &[String],
    ) -> Self {
        let mut s = Self {
            space: space.to_owned(),
            profile_id: profile_id.to_owned(),
            pages: pages.to_vec(),
            ..Self::default()
        };
        for (page, psid) in links {
            s.messenger_ids.push((Some(page), psid));
        }
        if let Some(p) = &profile {
            if let Some(psid) = &p.fb_messenger_id {
                if !s.psids().any(|known| known == psid) {
                    s.messenger_ids.push((None, psid.clone()));
                }
            }
            let mobile = p.custom.get("mobileNumber").and_then(Value::as_str);
            for phone in p.phone_number.as_deref().into_iter().chain(mobile) {
                if !s.phone_numbers.iter().any(|n| n == phone) {
                    s.phone_numbers.push(phone.to_owned());
                }
            }
            s.emails.extend(p.email.clone());
        }
        s.profile = profile;
        s
    }

    /// Every Messenger ID (PSID).
    pub fn psids(&self) -> impl Iterator<Item = &str> {
        self.messenger_ids.iter().map(|(_, psid)| psid.as_str())
    }

    /// Whether `value` is one of the subject's identifiers.
    pub fn is_identifier(&self, value: &str) -> bool {
        value == self.profile_id
            || self.psids().any(|p| p == value)
            || self.emails.iter().any(|e| e == value)
            || phone_digits(value).is_some_and(|digits| {
                self.phone_numbers
                    .iter()
                    .any(|n| phone_digits(n) == Some(digits))
            })
    }

    /// Every identifier's text: the profile id, PSIDs, phone numbers (as stored and as digits)
    /// and e-mail addresses.
    pub fn identifiers(&self) -> Vec<String> {
        let mut all = vec![self.profile_id.clone()];
        all.extend(self.psids().map(str::to_owned));
        for n in &self.phone_numbers {
            all.push(n.clone());
            all.extend(phone_digits(n).map(str::to_owned));
        }
        all.extend(self.emails.iter().cloned());
        all.retain(|s| !s.is_empty());
        all.sort();
        all.dedup();
        all
    }

    /// `LIKE` patterns (escape character `\`) that every stored JSON text naming the subject
    /// matches: each identifier as JSON writes it inside a string, anywhere. A store may use
    /// them to narrow a scan; what they find is then checked with [`Subject::names_message`] or
    /// [`Subject::names_event`].
    pub fn like_patterns(&self) -> Vec<String> {
        self.identifiers()
            .iter()
            .map(|id| {
                let json = serde_json::to_string(id).unwrap_or_default();
                let inner = json
                    .strip_prefix('"')
                    .and_then(|j| j.strip_suffix('"'))
                    .unwrap_or(&json);
                let escaped = inner
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("%{escaped}%")
            })
            .collect()
    }

    /// The byte strings a raw Meta body naming the subject contains: its PSIDs, its phone
    /// numbers' digits and its e-mail addresses (Meta's bodies name users by these, never by
    /// the business's profile id).
    pub fn raw_needles(&self) -> Vec<Vec<u8>> {
        let mut needles: Vec<Vec<u8>> = self.psids().map(|p| p.as_bytes().to_vec()).collect();
        needles.extend(
            self.phone_numbers
                .iter()
                .filter_map(|n| phone_digits(n))
                .map(|d| d.as_bytes().to_vec()),
        );
        needles.extend(self.emails.iter().map(|e| e.as_bytes().to_vec()));
        needles.retain(|n| !n.is_empty());
        needles
    }

    /// Whether a raw Meta body contains one of [`Subject::raw_needles`].
    pub fn names_raw(&self, raw: &[u8]) -> bool {
        self.raw_needles()
            .iter()
            .any(|n| raw.windows(n.len()).any(|w| w == n.as_slice()))
    }

    /// Whether a quarantined body on `page` (none: unreadable) may be this space's.
    pub fn owns_page(&self, page: Option<&str>) -> bool {
        page.is_none_or(|p| {
            self.pages.iter().any(|q| q == p)
                || self
                    .messenger_ids
                    .iter()
                    .any(|(q, _)| q.as_deref() == Some(p))
        })
    }

    /// Whether `m` (of the subject's space) is addressed to the subject: a field of its `to`,
    /// its recipient key (`profile:<id>`, `fb:<psid>`, `tel:<number>`, or the bare identifier)
    /// or the Messenger user it went to names them. A message redacted already names nobody.
    pub fn names_message(&self, m: &MessageRecord) -> bool {
        if m.space != self.space || m.redacted_at.is_some() {
            return false;
        }
        let to = &m.request.to;
        let fields = [
            &to.profile_id,
            &to.fb_messenger_id,
            &to.phone_number,
            &to.mobile_number,
            &to.email,
        ];
        let key = &m.recipient_key;
        let key_value = key.split_once(':').map_or(key.as_str(), |(_, v)| v);
        fields.into_iter().flatten().any(|v| self.is_identifier(v))
            || to
                .other
                .values()
                .filter_map(Value::as_str)
                .any(|v| self.is_identifier(v))
            || self.is_identifier(key)
            || self.is_identifier(key_value)
            || m.sent_to
                .as_ref()
                .is_some_and(|r| self.psids().any(|p| p == r.psid))
    }

    /// Whether an event (of the subject's space) is about the subject: its payload's
    /// `profileId`, `fbMessengerId` or `movedFrom`, or a field of its `to` (a message event's
    /// recipient), names them.
    pub fn names_event(&self, e: &EventEnvelope) -> bool {
        if e.api_space_id != self.space {
            return false;
        }
        let p = &e.payload;
        let named = ["profileId", "fbMessengerId", "movedFrom"]
            .iter()
            .filter_map(|k| p.get(k).and_then(Value::as_str))
            .any(|v| self.is_identifier(v));
        let to = p.get("to").and_then(Value::as_object).is_some_and(|to| {
            to.values()
                .filter_map(Value::as_str)
                .any(|v| self.is_identifier(v))
        });
        named || to
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Subject {
        let p = Profile::new("alice@example.com")
            .with_fb_messenger_id("psid-1")
            .with_phone_number("+447700900123");
        Subject::new(
            "s",
            "alice@example.com",
            Some(p),
            vec![("page-1".into(), "psid-2".into())],
            &["page-1".to_owned()],
        )
    }

    #[test]
    fn identifiers_and_phones_by_digits() {
        let s = alice();
        assert_eq!(s.psids().collect::<Vec<_>>(), ["psid-2", "psid-1"]);
        assert!(s.is_identifier("447700900123"));
        assert!(s.is_identifier("+447700900123"));
        assert!(!s.is_identifier("+44770090012"));
        assert!(s.is_identifier("alice@example.com"));
        assert!(!s.is_identifier("ALICE@example.com"));
    }

    #[test]
    fn like_patterns_escape_what_like_reads() {
        let s = Subject::new("s", r#"a_b%c"d\"#, None, vec![], &[]);
        assert_eq!(s.like_patterns(), [r#"%a\_b\%c\\"d\\\\%"#]);
    }

    #[test]
    fn raw_bodies_and_pages() {
        let s = alice();
        assert!(s.names_raw(br#"{"sender":{"id":"psid-2"}}"#));
        assert!(!s.names_raw(br#"{"sender":{"id":"psid-3"}}"#));
        assert!(s.owns_page(None));
        assert!(s.owns_page(Some("page-1")));
        assert!(!s.owns_page(Some("page-9")));
    }
}
