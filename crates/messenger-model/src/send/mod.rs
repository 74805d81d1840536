//! The Enterprise Communications API send request (DESIGN.md §3) and its builders.

mod builder;
mod request;

pub use request::{
    Channel, ChannelOptions, CustomBody, FbMessengerOptions, MessagePart, SendRequest, SmsOptions,
    To,
};
