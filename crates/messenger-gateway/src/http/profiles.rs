//! Profiles: `GET/PUT/PATCH/DELETE /apispaces/{space}/profiles/{profileId}` and
//! `GET /apispaces/{space}/profiles?fbMessengerId=&phoneNumber=&limit=&cursor=` (a search, or
//! without a filter every profile of the space, paged by id with `Next-Cursor`; decision 0009).
//!
//! `PUT` replaces the profile (creating it: 201), `PATCH` merges into an existing one (a JSON
//! `null` removes a custom property). The path's id wins over an `id` in the body.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use messenger_model::Profile;
use messenger_store::ProfileQuery;
use serde_json::Value;

use super::auth::{PathParams, SpaceAccess, SpaceRead};
use super::body::json_body;
use super::problem::{
    body_id_error, json_type, path_id, query_id_error, shorten, Problem, ProblemError,
};
use super::AppState;
use crate::picture::{
    check_picture_url, PictureRefusal, LOOKASIDE_HOST, MAX_PICTURE_URL_CHARS, PICTURE_DOMAINS,
};

/// The string fields of a profile.
const STRING_FIELDS: [&str; 6] = [
    "id",
    "fbMessengerId",
    "phoneNumber",
    "email",
    "firstName",
    "lastName",
];

/// The fields of a profile's `facebook` section, and whether each is a number.
const FACEBOOK_FIELDS: [(&str, bool); 6] = [
    ("firstName", false),
    ("lastName", false),
    ("profilePic", false),
    ("locale", false),
    ("gender", false),
    ("timezone", true),
];

/// Phone numbers: an optional `+`, then 8 to 15 digits (as the send request's rule).
fn phone_ok(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The entry for a `facebook.profilePic` that is not a picture on Meta's hosts.
fn picture_error(pointer: String, why: PictureRefusal) -> ProblemError {
    let hosts = format!(
        "{LOOKASIDE_HOST} or a host under {}",
        PICTURE_DOMAINS.map(|d| format!(".{d}")).join(" or ")
    );
    match why {
        PictureRefusal::Scheme => ProblemError::new(
            pointer,
            "url.scheme",
            format!(
                "facebook.profilePic must be an https URL of a picture on Meta's hosts ({hosts})"
            ),
        ),
        PictureRefusal::TooLong => ProblemError::new(
            pointer,
            "field.length",
            format!("facebook.profilePic takes at most {MAX_PICTURE_URL_CHARS} characters"),
        ),
        PictureRefusal::Host => ProblemError::new(
            pointer,
            "url.host",
            format!(
                "facebook.profilePic must be a picture on Meta's hosts ({hosts}), as Graph's \
                 profile_pic is, without credentials or a port"
            ),
        ),
    }
}

/// Checks a profile body and makes it a [`Profile`] with the path's id.
fn profile_from_body(id: &str, body: Value) -> Result<Profile, Problem> {
    let Value::Object(mut map) = body else {
        return Err(Problem::invalid(
            "",
            "field.type",
            format!("a profile must be a JSON object, not {}", json_type(&body)),
        ));
    };
    let mut errors = Vec::new();
    for field in STRING_FIELDS {
        match map.get(field) {
            None | Some(Value::Null | Value::String(_)) => {}
            Some(other) => errors.push(ProblemError::new(
                format!("/{field}"),
                "field.type",
                format!("{field} must be a string, not {}", json_type(other)),
            )),
        }
    }
    for field in ["id", "fbMessengerId"] {
        if let Some(Value::String(id)) = map.get(field) {
            errors.extend(body_id_error(&format!("/{field}"), id));
        }
    }
    if let Some(Value::String(phone)) = map.get("phoneNumber") {
        if !phone_ok(phone) {
            errors.push(ProblemError::new(
                "/phoneNumber",
                "phone.invalid",
                "not a phone number in international format: an optional +, country code and \
                 number, 8 to 15 digits in all, no spaces (e.g. 447123123123)",
            ));
        }
    }
    match map.get("facebook") {
        None | Some(Value::Null) => {}
        Some(Value::Object(fb)) => {
            for (name, value) in fb {
                let pointer = format!("/facebook/{}", name.replace('~', "~0").replace('/', "~1"));
                match FACEBOOK_FIELDS.iter().find(|(f, _)| f == name) {
                    None => errors.push(ProblemError::new(
                        pointer,
                        "field.unknown",
                        format!(
                            "the facebook section has no field {:?} (it has {})",
                            shorten(name),
                            FACEBOOK_FIELDS.map(|(f, _)| f).join(", ")
                        ),
                    )),
                    Some((_, number)) => {
                        // No null here: the section is Graph's, given whole or not at all.
                        let ok = if *number {
                            value.is_number()
                        } else {
                            value.is_string()
                        };
                        if !ok {
                            errors.push(ProblemError::new(
                                pointer,
                                "field.type",
                                format!(
                                    "facebook.{name} must be {}, not {}",
                                    if *number { "a number" } else { "a string" },
                                    json_type(value)
                                ),
                            ));
                        } else if let (true, Value::String(url)) = (name == "profilePic", value) {
                            if let Err(why) = check_picture_url(url) {
                                errors.push(picture_error(pointer, why));
                            }
                        }
                    }
                }
            }
        }
        Some(other) => errors.push(ProblemError::new(
            "/facebook",
            "field.type",
            format!("facebook must be an object, not {}", json_type(other)),
        )),
    }
    match map.get("instagramIds") {
        None | Some(Value::Null) => {}
        Some(Value::Object(ids)) => {
            // Instagram account id to the customer's IGSID for that account.
            for (account, igsid) in ids {
                let pointer = format!(
                    "/instagramIds/{}",
                    account.replace('~', "~0").replace('/', "~1")
                );
                match igsid {
                    Value::String(igsid) => errors.extend(body_id_error(&pointer, igsid)),
                    other => errors.push(ProblemError::new(
                        pointer,
                        "field.type",
                        format!(
                            "an Instagram-scoped ID must be a string, not {}",
                            json_type(other)
                        ),
                    )),
                }
            }
        }
        Some(other) => errors.push(ProblemError::new(
            "/instagramIds",
            "field.type",
            format!(
                "instagramIds must be an object (Instagram account id to IGSID), not {}",
                json_type(other)
            ),
        )),
    }
    if !errors.is_empty() {
        return Err(Problem::invalid_entries(errors));
    }
    map.insert("id".to_owned(), Value::String(id.to_owned()));
    if map.get("instagramIds").is_some_and(Value::is_null) {
        map.remove("instagramIds");
    }
    // Known fields set to null mean "not set"; drop them so they do not land in `custom`.
    for field in STRING_FIELDS.iter().chain(["facebook"].iter()) {
        if map.get(*field).is_some_and(Value::is_null) {
            map.remove(*field);
        }
    }
    serde_json::from_value::<Profile>(Value::Object(map)).map_err(|e| {
        Problem::invalid(
            "",
            "json.shape",
            format!("the profile does not have the expected shape: {e}"),
        )
    })
}

async fn profile_body(
    state: &AppState,
    params: &PathParams,
    headers: &HeaderMap,
    body: Body,
) -> Result<Profile, Problem> {
    let id = path_id(params, "profileId")?.to_owned();
    let (_, value) = json_body(headers, body, state.limits.profile).await?;
    profile_from_body(&id, value)
}

/// `GET .../profiles/{profileId}`.
pub(super) async fn get(
    State(state): State<AppState>,
    access: SpaceRead,
    params: PathParams,
) -> Result<Response, Problem> {
    let id = path_id(&params, "profileId")?;
    match state
        .messenger
        .store()
        .get_profile(&access.space, id)
        .await?
    {
        Some(p) => Ok(Json(p).into_response()),
        None => Err(not_found(id)),
    }
}

fn not_found(id: &str) -> Problem {
    Problem::not_found(format!(
        "there is no profile {:?} in this API space",
        shorten(id)
    ))
}

/// `PUT .../profiles/{profileId}`: creates (201) or replaces (200) the profile.
pub(super) async fn put(
    State(state): State<AppState>,
    access: SpaceAccess,
    params: PathParams,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let profile = profile_body(&state, &params, &headers, body).await?;
    let store = state.messenger.store();
    let existed = store
        .get_profile(&access.space, &profile.id)
        .await?
        .is_some();
    let stored = store.replace_profile(&access.space, profile).await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(stored)).into_response())
}

/// `PATCH .../profiles/{profileId}`: merges into an existing profile (404 when there is none).
pub(super) async fn patch(
    State(state): State<AppState>,
    access: SpaceAccess,
    params: PathParams,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let update = profile_body(&state, &params, &headers, body).await?;
    let store = state.messenger.store();
    if store
        .get_profile(&access.space, &update.id)
        .await?
        .is_none()
    {
        return Err(not_found(&update.id));
    }
    let stored = store.merge_profile(&access.space, update).await?;
    Ok(Json(stored).into_response())
}

/// `DELETE .../profiles/{profileId}`: 204, or 404. It takes no query parameter: a delete
/// removes the profile only, and a caller who meant to erase the customer's data (a query
/// such as `?erase=true`) is told where that is rather than getting a plain delete.
pub(super) async fn delete(
    State(state): State<AppState>,
    access: SpaceAccess,
    params: PathParams,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let id = path_id(&params, "profileId")?;
    let errors: Vec<ProblemError> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(name, _)| {
                ProblemError::new(
                    "",
                    "query.unknown",
                    format!(
                        "DELETE takes no query parameter ({:?} given): it deletes the profile \
                         only; to erase everything stored about the customer, POST \
                         .../profiles/{{profileId}}/erasure",
                        shorten(&name)
                    ),
                )
            })
            .collect();
    if !errors.is_empty() {
        return Err(Problem::bad_request_entries(errors));
    }
    if state
        .messenger
        .store()
        .delete_profile(&access.space, id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found(id))
    }
}

/// The response header naming the next page of a profile search (decision 0009).
pub(super) const NEXT_CURSOR: &str = "next-cursor";

/// The opaque cursor of the page after the profile `last_id`: the id's UTF-8 in hex, so it is
/// safe in a query string and clients have no reason to build one.
fn cursor_after(last_id: &str) -> String {
    hex::encode(last_id.as_bytes())
}

/// The position a cursor names: the id of [`cursor_after`], or `None` when it is not hex. Any
/// non-empty hex is a position (bytes that are not UTF-8 are read lossily), so a cursor is
/// never refused for its content, only for its form.
fn cursor_id(cursor: &str) -> Option<String> {
    let bytes = hex::decode(cursor).ok().filter(|b| !b.is_empty())?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// `GET .../profiles?fbMessengerId=&phoneNumber=&limit=&cursor=`: the matching profiles (every
/// given field must match; no field: every profile of the space), ordered by id. A full page
/// carries `Next-Cursor`, to pass as `cursor` for the next one (which may be empty).
pub(super) async fn find(
    State(state): State<AppState>,
    access: SpaceRead,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let mut q = ProfileQuery::default();
    let mut errors = Vec::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "fbMessengerId" => match query_id_error("fbMessengerId", &value) {
                Some(e) => errors.push(e),
                None => q.fb_messenger_id = Some(value.into_owned()),
            },
            "phoneNumber" => q.phone_number = Some(value.into_owned()),
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=ProfileQuery::MAX_LIMIT).contains(&n) => q.limit = n,
                _ => errors.push(ProblemError::new(
                    "",
                    "query.limit",
                    format!("limit must be 1 to {}", ProfileQuery::MAX_LIMIT),
                )),
            },
            "cursor" => match cursor_id(&value) {
                Some(id) => q.after = Some(id),
                None => errors.push(ProblemError::new(
                    "",
                    "query.cursor",
                    "cursor is not one this API gave (hex digits): pass the Next-Cursor \
                     header of the previous page as it is",
                )),
            },
            other => errors.push(ProblemError::new(
                "",
                "query.unknown",
                format!(
                    "unknown query parameter {:?} (use fbMessengerId, phoneNumber, limit, cursor)",
                    shorten(other)
                ),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(Problem::bad_request_entries(errors));
    }
    let found = state
        .messenger
        .store()
        .find_profiles(&access.space, &q)
        .await?;
    let next = (found.len() >= q.effective_limit())
        .then(|| found.last())
        .flatten()
        .and_then(|last| HeaderValue::from_str(&cursor_after(&last.id)).ok());
    let mut response = Json(found).into_response();
    if let Some(next) = next {
        response.headers_mut().insert(NEXT_CURSOR, next);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn path_id_wins_and_nulls_are_unset() {
        let p = profile_from_body(
            "alice",
            json!({"id": "mallory", "phoneNumber": "+447700900123", "email": null, "tier": "gold"}),
        )
        .unwrap();
        assert_eq!(p.id, "alice");
        assert_eq!(p.email, None);
        assert_eq!(Value::Object(p.custom), json!({"tier": "gold"}));
    }

    #[test]
    fn cursors_round_trip_and_refuse_what_they_did_not_make() {
        for id in ["a", "bob@example.com", "é/ü?&=", "0"] {
            assert_eq!(cursor_id(&cursor_after(id)).as_deref(), Some(id));
        }
        assert_eq!(cursor_id("ff").as_deref(), Some("\u{fffd}"));
        for bad in ["", "zz", "abc", "6"] {
            assert_eq!(cursor_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_facebook_section_takes_no_nulls() {
        for field in ["timezone", "locale", "firstName"] {
            let e = profile_from_body("a", json!({"facebook": {field: null}})).unwrap_err();
            assert_eq!(e.errors[0].code, "field.type", "{field}");
            assert_eq!(e.errors[0].path, format!("/facebook/{field}"));
        }
        let p = profile_from_body("a", json!({"facebook": {"timezone": 5.5}})).unwrap();
        assert_eq!(p.facebook.and_then(|f| f.timezone), Some(5.5));
    }

    #[test]
    fn bad_bodies_name_each_field() {
        let e = profile_from_body("a", json!([1])).unwrap_err();
        assert_eq!(e.errors[0].code, "field.type");
        let e = profile_from_body(
            "a",
            json!({"phoneNumber": "12", "firstName": 5, "facebook": {"timezone": "x", "shoe": 1}}),
        )
        .unwrap_err();
        let got: Vec<_> = e
            .errors
            .iter()
            .map(|e| (e.path.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("/firstName", "field.type"),
                ("/phoneNumber", "phone.invalid"),
                ("/facebook/timezone", "field.type"),
                ("/facebook/shoe", "field.unknown"),
            ]
        );
    }
}
