//! An Instagram user's profile, `GET /v{N}/{IGSID}?fields=...`: on the Facebook host with the
//! linked page's token, on the Instagram host with the account's token. As on Instagram, it is
//! answered only once the user has consented by writing to the account; before that Graph
//! answers 230, `User consent is required to access user profile`.
//!
//! The simulator's users have a fixed profile derived from their IGSID: `username`
//! `ig_user_{IGSID}`, a name, a picture URL, no followers, nobody following anybody, not
//! verified. Only the fields asked are answered, and `id`.

use serde_json::{json, Map, Value};

use crate::faults::graph_failure;
use crate::graph_api::{GraphFailure, INSTAGRAM_ERROR_TYPE};
use crate::state::SimState;

use super::accounts::Account;

/// The fields an IGSID node has.
pub const INSTAGRAM_PROFILE_FIELDS: &[&str] = &[
    "id",
    "name",
    "username",
    "profile_pic",
    "follower_count",
    "is_user_follow_business",
    "is_business_follow_user",
    "is_verified_user",
];

/// Fields answered when the request names none.
const DEFAULT_FIELDS: &[&str] = &["name", "username", "profile_pic"];

/// The username of a simulated user.
pub(crate) fn username_of(igsid: &str) -> String {
    format!("ig_user_{igsid}")
}

/// `igsid`'s profile as `account` may read it; `fields` as the query gave them.
pub(crate) async fn profile(
    state: &SimState,
    account: &Account,
    igsid: &str,
    fields: Option<&str>,
) -> Result<Value, GraphFailure> {
    let fields: Vec<&str> = match fields {
        Some(f) if !f.trim().is_empty() => f.split(',').map(str::trim).collect(),
        _ => DEFAULT_FIELDS.to_vec(),
    };
    if let Some(bad) = fields
        .iter()
        .find(|f| !INSTAGRAM_PROFILE_FIELDS.contains(f))
    {
        return Err(GraphFailure::new(
            100,
            INSTAGRAM_ERROR_TYPE,
            format!(
                "(#100) Tried accessing nonexisting field ({bad}) on node type (InstagramUser)"
            ),
        ));
    }
    if state.window.last_inbound(&account.id, igsid).is_none() {
        return Err(GraphFailure::new(
            230,
            INSTAGRAM_ERROR_TYPE,
            "(#230) User consent is required to access user profile",
        ));
    }
    let triggered = state.faults.take(&[igsid]);
    triggered.wait().await;
    if let Some(f) = triggered
        .fault
        .as_ref()
        .and_then(|f| graph_failure(f, &account.id))
    {
        return Err(f.instagram());
    }
    let all = json!({
        "name": format!("IG User {}", &igsid[igsid.len().saturating_sub(4)..]),
        "username": username_of(igsid),
        "profile_pic": format!("https://scontent.cdninstagram.com/v/t51.2885-19/{igsid}.jpg"),
        "follower_count": 0,
        "is_user_follow_business": false,
        "is_business_follow_user": false,
        "is_verified_user": false,
    });
    let mut out = Map::new();
    for f in fields {
        if let Some(v) = all.get(f) {
            out.insert(f.to_owned(), v.clone());
        }
    }
    out.insert("id".to_owned(), Value::String(igsid.to_owned()));
    Ok(Value::Object(out))
}
