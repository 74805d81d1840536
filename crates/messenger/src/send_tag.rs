//! The tag a send puts in each Graph send's `message.metadata`, so Meta's message echo says
//! which message and part it was: written by dispatch, read by the webhook's echo handling.

/// `mc1:<message id>:<part index>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendTag {
    /// The message id.
    pub message_id: String,
    /// The index of the Graph send among the message's planned sends.
    pub part: usize,
}

const PREFIX: &str = "mc1:";

impl SendTag {
    /// The tag of part `part` of message `message_id`.
    pub fn new(message_id: impl Into<String>, part: usize) -> Self {
        Self {
            message_id: message_id.into(),
            part,
        }
    }

    /// Parses a metadata string; `None` when it is not one of our tags.
    ///
    /// ```
    /// use messenger::send::SendTag;
    /// let tag = SendTag::new("01a2-b3", 2);
    /// assert_eq!(SendTag::parse(&tag.to_string()), Some(tag));
    /// assert_eq!(SendTag::parse("order 42"), None);
    /// ```
    pub fn parse(metadata: &str) -> Option<Self> {
        let rest = metadata.strip_prefix(PREFIX)?;
        let (id, part) = rest.rsplit_once(':')?;
        if id.is_empty() || id.len() > 128 {
            return None;
        }
        Some(Self::new(id, part.parse().ok()?))
    }
}

impl std::fmt::Display for SendTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PREFIX}{}:{}", self.message_id, self.part)
    }
}
