//! One entry of a webhook body (the events of one page), read event by event: an event the
//! model cannot read is kept as an [`UnparsedEvent`] and does not fail its neighbours.

use std::fmt;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{lenient, MessagingEvent};

/// Which list of the body an [`UnparsedEvent`] was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum EventList {
    /// `entry[].messaging[]`: events for the app that owns the thread.
    Messaging,
    /// `entry[].standby[]`: events delivered while another app owns the thread.
    Standby,
    /// `entry[]` itself: an entry that is not a JSON object (or an `entry` that is not an array).
    Entry,
}

impl EventList {
    /// `messaging`, `standby` or `entry`: the body's field name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventList::Messaging => "messaging",
            EventList::Standby => "standby",
            EventList::Entry => "entry",
        }
    }
}

impl fmt::Display for EventList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An element of a webhook body the model could not read, kept as Meta sent it.
///
/// When a list is not an array at all (e.g. `"messaging":{...}`), the whole value is one
/// unparsed event with `index` 0, and serializing writes it back as a one-element array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnparsedEvent {
    /// The list it was in.
    pub list: EventList,
    /// Its position in that list (in the entry's `messaging`/`standby`, or in `entry`).
    pub index: usize,
    /// The element, as Meta sent it.
    pub raw: Value,
    /// Why it could not be read (serde's description, e.g. `invalid type: string "oops",
    /// expected struct InboundMessage`).
    pub error: String,
}

/// One entry: the events of one page.
///
/// Each element of `messaging[]` and `standby[]` is read on its own; one that cannot be read goes
/// to `unparsed` and the others are kept. An `id` or `time` of a shape the model cannot read is
/// left at its default (`""`, 0) and kept verbatim in `extra`, which then wins when the entry is
/// serialized. Serializing writes unparsed events back into their arrays at their indices, so a
/// parse → serialize round trip loses nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entry {
    /// The page id: a JSON string, or a number kept exactly as its decimal text (also above
    /// 2^53).
    pub id: String,
    /// When Meta sent the entry (milliseconds; 0: Meta did not say). Lenient like
    /// [`MessagingEvent::timestamp`].
    pub time: i64,
    /// The events for the app that owns the thread.
    pub messaging: Vec<MessagingEvent>,
    /// The events delivered while another app owns the thread (Handover Protocol / Conversation
    /// Routing). Standby postbacks have no payload.
    pub standby: Vec<MessagingEvent>,
    /// The elements of `messaging` and `standby` that could not be read.
    pub unparsed: Vec<UnparsedEvent>,
    /// Other fields (`changes`, ...), kept.
    pub extra: Map<String, Value>,
}

impl Entry {
    /// Reads an entry from its JSON object; never fails (see [`Entry`]).
    pub(crate) fn from_object(mut map: Map<String, Value>) -> Self {
        let id = map.remove("id");
        let time = map.remove("time");
        let messaging = map.remove("messaging");
        let standby = map.remove("standby");
        let mut entry = Entry {
            extra: map,
            ..Entry::default()
        };
        match id {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => entry.id = s,
            Some(Value::Number(n)) if n.is_u64() || n.is_i64() => entry.id = n.to_string(),
            Some(other) => {
                entry.extra.insert("id".to_owned(), other);
            }
        }
        if let Some(time) = time {
            match lenient::millis(&time) {
                Ok(ms) => entry.time = ms,
                Err(_) => {
                    entry.extra.insert("time".to_owned(), time);
                }
            }
        }
        read_events(
            EventList::Messaging,
            messaging,
            &mut entry.messaging,
            &mut entry.unparsed,
        );
        read_events(
            EventList::Standby,
            standby,
            &mut entry.standby,
            &mut entry.unparsed,
        );
        entry
    }

    /// The events read, with the list each came from: `messaging` first, then `standby`.
    pub fn events(&self) -> impl Iterator<Item = (EventList, &MessagingEvent)> {
        let messaging = self.messaging.iter().map(|e| (EventList::Messaging, e));
        let standby = self.standby.iter().map(|e| (EventList::Standby, e));
        messaging.chain(standby)
    }
}

/// Reads each element of a `messaging`/`standby` value into `events`, or into `unparsed`.
fn read_events(
    list: EventList,
    value: Option<Value>,
    events: &mut Vec<MessagingEvent>,
    unparsed: &mut Vec<UnparsedEvent>,
) {
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, raw) in items.into_iter().enumerate() {
                match MessagingEvent::deserialize(&raw) {
                    Ok(event) => events.push(event),
                    Err(e) => unparsed.push(UnparsedEvent {
                        list,
                        index,
                        error: e.to_string(),
                        raw,
                    }),
                }
            }
        }
        Some(raw) => unparsed.push(UnparsedEvent {
            list,
            index: 0,
            error: lenient::invalid_type(&raw, "an array of events"),
            raw,
        }),
    }
}

impl<'de> Deserialize<'de> for Entry {
    /// Fails only when the value is not a JSON object.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient::object(d, "an entry (a JSON object)").map(Entry::from_object)
    }
}

impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if !self.extra.contains_key("id") {
            map.serialize_entry("id", &self.id)?;
        }
        if !self.extra.contains_key("time") {
            map.serialize_entry("time", &self.time)?;
        }
        map.serialize_entry(
            "messaging",
            &Merged::new(&self.messaging, &self.unparsed, EventList::Messaging),
        )?;
        let standby = Merged::new(&self.standby, &self.unparsed, EventList::Standby);
        if !standby.is_empty() {
            map.serialize_entry("standby", &standby)?;
        }
        for (k, v) in &self.extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A list as it is written back: the parsed items, with the unparsed ones of `list` at their
/// indices (those past the end after the parsed ones, in index order).
pub(crate) struct Merged<'a, T> {
    items: &'a [T],
    unparsed: Vec<&'a UnparsedEvent>,
}

impl<'a, T> Merged<'a, T> {
    pub(crate) fn new(items: &'a [T], unparsed: &'a [UnparsedEvent], list: EventList) -> Self {
        let mut unparsed: Vec<_> = unparsed.iter().filter(|u| u.list == list).collect();
        unparsed.sort_by_key(|u| u.index);
        Merged { items, unparsed }
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty() && self.unparsed.is_empty()
    }
}

impl<T: Serialize> Serialize for Merged<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.items.len() + self.unparsed.len()))?;
        let mut items = self.items.iter();
        let mut unparsed = self.unparsed.iter().peekable();
        let mut position = 0;
        loop {
            let due = unparsed.peek().is_some_and(|u| u.index <= position);
            if due {
                if let Some(u) = unparsed.next() {
                    seq.serialize_element(&u.raw)?;
                }
            } else if let Some(item) = items.next() {
                seq.serialize_element(item)?;
            } else if let Some(u) = unparsed.next() {
                seq.serialize_element(&u.raw)?;
            } else {
                break;
            }
            position += 1;
        }
        seq.end()
    }
}
