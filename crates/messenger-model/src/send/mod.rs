//! The Enterprise Communications API send request (docs/design.md §4) and its builders.

mod builder;
mod request;

pub use request::{
    Channel, ChannelOptions, CustomBody, FbMessengerOptions, InstagramOptions, MessagePart,
    SendRequest, SmsOptions, To,
};
