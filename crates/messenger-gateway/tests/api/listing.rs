//! `GET /apispaces/{space}/messages`: filters (the channel, Instagram's included), where a
//! message went out (`sentTo`), cursor pages stable under inserts, bad queries answered 400
//! naming the parameter, space isolation, admin keys; and the console's own JSON reads.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

const ADMIN: &str = "console-admin-key-0123456789abcdef";

async fn start() -> Env {
    Env::start_configured(&format!("admin_keys = [\"{ADMIN}\"]"), "").await
}

fn to(profile: Option<&str>, psid: &str) -> Value {
    let mut to = json!({"fbMessengerId": psid});
    if let Some(p) = profile {
        to["profileId"] = json!(p);
    }
    json!({"to": to, "body": "hello", "rules": ["fbMessenger"]})
}

/// Sends and waits until the message is sent; returns its id.
async fn sent(env: &Env, profile: Option<&str>, psid: &str) -> String {
    let a = env.send(SPACE_A, KEY_A, &to(profile, psid)).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.json()["id"].as_str().unwrap().to_owned();
    env.settled(&id).await;
    id
}

fn ids(a: &Answer) -> Vec<String> {
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every page of a listing, following `Next-Cursor`.
async fn all_pages(env: &Env, key: &str, query: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = None::<String>;
    for _ in 0..100 {
        let sep = if query.is_empty() { "" } else { "&" };
        let path = match &cursor {
            Some(c) => format!("/apispaces/{SPACE_A}/messages?{query}{sep}cursor={c}"),
            None => format!("/apispaces/{SPACE_A}/messages?{query}"),
        };
        let a = env.get(&path, key).await;
        seen.extend(ids(&a));
        match a.header("next-cursor") {
            Some(c) => cursor = Some(c.to_owned()),
            None => return seen,
        }
    }
    panic!("more than 100 pages");
}

#[tokio::test]
async fn the_listing_filters_and_pages_newest_first() {
    let env = start().await;
    env.inbound("24000000000301").await;
    env.inbound("24000000000302").await;
    let mut alice = Vec::new();
    let mut bare = Vec::new();
    for _ in 0..3 {
        alice.push(sent(&env, Some("alice"), "24000000000301").await);
        bare.push(sent(&env, None, "24000000000302").await);
    }

    let everything = env
        .get(&format!("/apispaces/{SPACE_A}/messages"), KEY_A)
        .await;
    assert_eq!(everything.header("next-cursor"), None, "a partial page");
    let listed = everything.json();
    let items = listed.as_array().unwrap();
    assert_eq!(items.len(), 6);
    let keys: Vec<(String, String)> = items
        .iter()
        .map(|m| {
            assert_eq!(m["status"], "sent");
            assert!(m["ruleTrace"].as_array().is_some());
            assert!(m["to"]["fbMessengerId"].is_string());
            (
                m["createdAt"].as_str().unwrap().to_owned(),
                m["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, sorted, "newest first by (createdAt, id)");
    assert_eq!(
        items[0]["id"],
        bare[2].as_str(),
        "the last sent comes first"
    );

    let paged = all_pages(&env, KEY_A, "limit=4").await;
    assert_eq!(paged, ids(&everything));
    assert_eq!(all_pages(&env, KEY_A, "limit=1").await, paged);

    let mut alice_newest_first = alice.clone();
    alice_newest_first.reverse();
    assert_eq!(
        all_pages(&env, KEY_A, "profileId=alice&limit=2").await,
        alice_newest_first
    );
    let mut bare_newest_first = bare.clone();
    bare_newest_first.reverse();
    assert_eq!(
        all_pages(&env, KEY_A, "fbMessengerId=24000000000302").await,
        bare_newest_first
    );
    assert_eq!(all_pages(&env, KEY_A, "status=sent").await, paged);
    assert!(all_pages(&env, KEY_A, "status=failed").await.is_empty());
    assert_eq!(all_pages(&env, KEY_A, "channel=fbMessenger").await, paged);
    assert!(all_pages(&env, KEY_A, "channel=sms").await.is_empty());
    assert!(all_pages(&env, KEY_A, "since=2099-01-01T00:00:00Z")
        .await
        .is_empty());
    assert!(all_pages(&env, KEY_A, "until=2000-01-01T00:00:00Z")
        .await
        .is_empty());
    assert_eq!(
        all_pages(
            &env,
            KEY_A,
            "since=2000-01-01T00:00:00Z&until=2099-01-01T00:00:00%2B02:00&status=sent&profileId=alice"
        )
        .await,
        alice_newest_first
    );
}

#[tokio::test]
async fn cursor_pages_are_stable_under_inserts() {
    let env = start().await;
    env.inbound("24000000000311").await;
    for _ in 0..4 {
        sent(&env, None, "24000000000311").await;
    }
    let path = format!("/apispaces/{SPACE_A}/messages?limit=2");
    let first = env.get(&path, KEY_A).await;
    let cursor = first.header("next-cursor").unwrap().to_owned();
    let second_path = format!("{path}&cursor={cursor}");
    let before = ids(&env.get(&second_path, KEY_A).await);
    assert_eq!(before.len(), 2);
    let newer = [
        sent(&env, None, "24000000000311").await,
        sent(&env, None, "24000000000311").await,
    ];
    let after = env.get(&second_path, KEY_A).await;
    assert_eq!(ids(&after), before, "new messages do not shift later pages");
    let fresh = ids(&env.get(&path, KEY_A).await);
    assert_eq!(fresh, [newer[1].clone(), newer[0].clone()]);
    let everything = all_pages(&env, KEY_A, "limit=2").await;
    let unique: std::collections::HashSet<_> = everything.iter().collect();
    assert_eq!(everything.len(), 6);
    assert_eq!(unique.len(), 6, "no message twice");
}

#[tokio::test]
async fn bad_queries_are_400_naming_the_parameter() {
    let env = start().await;
    let cases = [
        ("color=red", "query.unknown"),
        ("cursor=not-a-cursor!", "query.cursor"),
        ("cursor=bm9jb2xvbg", "query.cursor"),
        ("cursor=", "query.cursor"),
        ("limit=0", "query.limit"),
        ("limit=501", "query.limit"),
        ("limit=ten", "query.limit"),
        ("since=yesterday", "query.since"),
        ("until=2026-13-01T00:00:00Z", "query.until"),
        (
            "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
            "query.until",
        ),
        ("status=lost", "query.status"),
        ("channel=fax", "query.channel"),
        ("profileId=a&fbMessengerId=1", "query.recipient"),
        ("profileId=", "query.profileId"),
        ("status=sent&status=read", "query.repeated"),
    ];
    for (query, code) in cases {
        let a = env
            .get(&format!("/apispaces/{SPACE_A}/messages?{query}"), KEY_A)
            .await;
        let p = a.problem(400);
        assert_eq!(p["errors"][0]["code"], code, "{query}: {p}");
    }
    // A cursor from another space's listing is a position, never a way into its data.
    let forged = base64_of("1767225600000:some-id-of-another-space");
    let a = env
        .get(
            &format!("/apispaces/{SPACE_B}/messages?cursor={forged}"),
            KEY_B,
        )
        .await;
    assert!(ids(&a).is_empty());
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[tokio::test]
async fn the_listing_stays_in_its_space_and_admin_keys_only_read() {
    let env = start().await;
    env.inbound("24000000000321").await;
    let id = sent(&env, Some("bob"), "24000000000321").await;
    let list_a = format!("/apispaces/{SPACE_A}/messages");
    env.get(&list_a, KEY_B).await.problem(403);
    env.call(Method::GET, &list_a, None, &[], None)
        .await
        .problem(401);
    assert!(ids(&env
        .get(&format!("/apispaces/{SPACE_B}/messages"), KEY_B)
        .await)
    .is_empty());
    env.get(&format!("/apispaces/{SPACE_B}/messages/{id}"), KEY_B)
        .await
        .problem(404);
    env.get(
        &format!("/console/api/spaces/{SPACE_B}/messages/{id}"),
        KEY_B,
    )
    .await
    .problem(404);

    // An admin key reads every space, and only reads (and redrives).
    assert_eq!(ids(&env.get(&list_a, ADMIN).await), [id.as_str()]);
    assert_eq!(
        env.get(&format!("/apispaces/{SPACE_A}/messages/{id}"), ADMIN)
            .await
            .status,
        200
    );
    env.get("/apispaces/no-such-space/messages", ADMIN)
        .await
        .problem(404);
    let a = env.send(SPACE_A, ADMIN, &to(None, "24000000000321")).await;
    a.problem(401);
    let put = env
        .json(
            Method::PUT,
            &format!("/apispaces/{SPACE_A}/profiles/eve"),
            ADMIN,
            "{}",
        )
        .await;
    put.problem(401);
}

#[tokio::test]
async fn the_console_is_served_and_reads_one_space() {
    let env = start().await;
    let page = env.call(Method::GET, "/console", None, &[], None).await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'self'"));
    assert!(page.text.contains("/console/assets/console.js"));
    assert!(!page.text.contains("http://") && !page.text.contains("https://"));
    for asset in ["/console/assets/console.js", "/console/assets/console.css"] {
        let a = env.call(Method::GET, asset, None, &[], None).await;
        assert_eq!(a.status, 200, "{asset}");
        assert!(
            !a.text.contains("https://"),
            "{asset} loads nothing from outside"
        );
    }

    let session = env.get("/console/api/session", KEY_A).await;
    assert_eq!(session.json(), json!({"admin": false, "spaces": [SPACE_A]}));
    let admin = env.get("/console/api/session", ADMIN).await.json();
    assert_eq!(admin["admin"], true);
    assert_eq!(admin["spaces"].as_array().unwrap().len(), 3);
    env.get("/console/api/session", "nobody-key-0123456789")
        .await
        .problem(401);

    env.opted_in_profile("carol", "24000000000331").await;
    let id = sent(&env, Some("carol"), "24000000000331").await;
    let detail = env
        .get(
            &format!("/console/api/spaces/{SPACE_A}/messages/{id}"),
            KEY_A,
        )
        .await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    let d = detail.json();
    assert_eq!(d["message"]["id"], id.as_str());
    assert_eq!(d["request"]["to"]["profileId"], "carol");
    assert_eq!(d["message"]["ruleTrace"][0]["outcome"], "used");
    assert!(d["events"].is_array());
    env.get(
        &format!("/console/api/spaces/{SPACE_A}/messages/{id}"),
        KEY_B,
    )
    .await
    .problem(403);

    let profile = env
        .get(
            &format!("/console/api/spaces/{SPACE_A}/profiles/carol"),
            KEY_A,
        )
        .await;
    assert_eq!(profile.status, 200, "{}", profile.text);
    let p = profile.json();
    assert_eq!(p["messenger"][0]["psid"], "24000000000331");
    assert_eq!(p["messenger"][0]["windowOpen"], true);

    // The sampler ticks every second: the sent message shows in a point.
    let live_path = format!("/console/api/spaces/{SPACE_A}/live");
    let mut sent_points = 0;
    for _ in 0..50 {
        let live = env.get(&live_path, KEY_A).await.json();
        assert_eq!(live["queues"], Value::Null, "queue depths are for admins");
        assert_eq!(live["pages"][0]["paused"], false);
        sent_points = live["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["sent"].as_u64().unwrap() + p["accepted"].as_u64().unwrap())
            .sum::<u64>();
        if sent_points >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sent_points >= 2, "accepted and sent are counted");
    let live = env.get(&live_path, ADMIN).await.json();
    assert!(live["queues"].is_array());
}

/// An Instagram professional account of the business, as webhooks name it, connected to
/// space A through its page.
const IG_ACCOUNT: &str = "17841400000000001";

/// A gateway whose space A has the Instagram account `IG_ACCOUNT` (through page A), graph-sim
/// serving it; the space leaves the window to Meta (graph-sim keeps Instagram's).
async fn start_with_instagram() -> Env {
    Env::start_simulating(
        &format!("admin_keys = [\"{ADMIN}\"]"),
        &format!("\n[[spaces.instagram]]\naccount_id = \"{IG_ACCOUNT}\"\n"),
        |sim| sim.instagram_account(IG_ACCOUNT, graph_sim::InstagramLogin::Page(PAGE_A.into())),
        |_, toml| {
            let keys = format!("keys = [\"{KEY_A}\"]\n");
            toml.replacen(&keys, &format!("{keys}window_check = \"off\"\n"), 1)
        },
    )
    .await
}

/// Sends `request` on space A and waits until it is settled; returns its id.
async fn settled(env: &Env, request: Value) -> String {
    let a = env.send(SPACE_A, KEY_A, &request).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.json()["id"].as_str().unwrap().to_owned();
    let m = env.settled(&id).await;
    assert_eq!(m["status"], "sent", "{m}");
    id
}

#[tokio::test]
async fn instagram_messages_are_listed_by_channel_with_the_account_they_went_out_from() {
    let env = start_with_instagram().await;
    env.inbound("24000000000341").await;
    let messenger = sent(&env, None, "24000000000341").await;

    // A private reply to a customer's comment, and a direct message once they wrote.
    let commenter = env.sim.new_instagram_user(IG_ACCOUNT).unwrap();
    let comment = env
        .sim
        .post_instagram_comment(IG_ACCOUNT, &commenter, "How much is it?")
        .await
        .unwrap();
    let reply = settled(
        &env,
        json!({"to": {"commentId": comment.id}, "body": "Sent you the price", "rules": ["instagram"]}),
    )
    .await;
    let writer = env.sim.new_instagram_user(IG_ACCOUNT).unwrap();
    env.sim
        .post_instagram_message(IG_ACCOUNT, &writer, "Is my order ready?")
        .await
        .unwrap();
    let direct = settled(
        &env,
        json!({"to": {"instagramId": writer}, "body": "It is", "rules": ["instagram", "sms"]}),
    )
    .await;
    let sent_by_account: Vec<String> = env
        .sim
        .instagram_sent(IG_ACCOUNT)
        .iter()
        .map(|s| s.recipient_id.clone())
        .collect();
    assert_eq!(sent_by_account, [commenter.clone(), writer.clone()]);

    let path = format!("/apispaces/{SPACE_A}/messages?channel=instagram");
    let listed = env.get(&path, KEY_A).await;
    assert_eq!(
        ids(&listed),
        [direct.as_str(), reply.as_str()],
        "newest first"
    );
    let items = listed.json();
    for (m, igsid) in items.as_array().unwrap().iter().zip([&writer, &commenter]) {
        assert_eq!(m["channel"], "instagram", "{m}");
        assert_eq!(m["status"], "sent", "{m}");
        assert_eq!(
            m["sentTo"],
            json!({"channel": "instagram", "accountId": IG_ACCOUNT, "instagramId": igsid}),
            "{m}"
        );
        assert_eq!(m["ruleTrace"][0]["channel"], "instagram", "{m}");
        assert_eq!(m["ruleTrace"][0]["outcome"], "used", "{m}");
    }
    assert_eq!(items[0]["to"]["instagramId"], writer.as_str());
    assert_eq!(items[1]["to"]["commentId"], comment.id.as_str());
    assert_eq!(
        all_pages(&env, KEY_A, "channel=instagram&status=sent").await,
        [direct.as_str(), reply.as_str()]
    );
    // The customer reads the direct message: Instagram's read names it, and it goes from sent
    // to read (the commenter, another customer, has read nothing).
    let mid = env.sim.instagram_sent(IG_ACCOUNT)[1].mid.clone();
    let status = env
        .sim
        .post_instagram_read(IG_ACCOUNT, &writer, &mid)
        .await
        .unwrap();
    assert_eq!(status, 200);
    env.webhooks_applied().await;
    assert_eq!(
        all_pages(&env, KEY_A, "channel=instagram&status=read").await,
        [direct.as_str()]
    );
    let statuses: Vec<String> = env.message(&direct).await["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["processing", "sent", "read"]);
    // Instagram has no delivered state.
    assert!(all_pages(&env, KEY_A, "channel=instagram&status=delivered")
        .await
        .is_empty());
    assert!(all_pages(&env, KEY_A, "channel=sms").await.is_empty());

    let on_messenger = env
        .get(
            &format!("/apispaces/{SPACE_A}/messages?channel=fbMessenger"),
            KEY_A,
        )
        .await;
    assert_eq!(ids(&on_messenger), [messenger.as_str()]);
    assert_eq!(
        on_messenger.json()[0]["sentTo"],
        json!({"channel": "fbMessenger", "pageId": PAGE_A, "fbMessengerId": "24000000000341"})
    );
    assert_eq!(
        all_pages(&env, KEY_A, "").await,
        [direct.as_str(), reply.as_str(), messenger.as_str()],
        "every channel without the filter"
    );
    assert!(ids(&env
        .get(
            &format!("/apispaces/{SPACE_B}/messages?channel=instagram"),
            KEY_B
        )
        .await)
    .is_empty());

    // The console's read of one: where it went out and to whom.
    let detail = env
        .get(
            &format!("/console/api/spaces/{SPACE_A}/messages/{reply}"),
            KEY_A,
        )
        .await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    let d = detail.json();
    assert_eq!(d["message"]["channel"], "instagram");
    assert_eq!(d["sentTo"]["accountId"], IG_ACCOUNT);
    assert_eq!(d["sentTo"]["instagramId"], commenter.as_str());
    assert_eq!(d["request"]["to"]["commentId"], comment.id.as_str());
    let live = env
        .get(&format!("/console/api/spaces/{SPACE_A}/live"), KEY_A)
        .await
        .json();
    assert_eq!(
        live["instagram"],
        json!([{"accountId": IG_ACCOUNT, "login": "facebook", "circuit": "closed",
                "paused": false, "reason": null, "until": null}])
    );
}

#[tokio::test]
async fn the_console_shows_a_profiles_instagram_ids_per_account() {
    let env = start_with_instagram().await;
    let other = "17841400000000999";
    let body = json!({"firstName": "Dana",
                      "instagramIds": {IG_ACCOUNT: "IGSID-351", other: "IGSID-352"}})
    .to_string();
    let put = env
        .json(
            Method::PUT,
            &format!("/apispaces/{SPACE_A}/profiles/dana"),
            KEY_A,
            &body,
        )
        .await;
    assert!(put.status < 300, "{}", put.text);
    let p = env
        .get(
            &format!("/console/api/spaces/{SPACE_A}/profiles/dana"),
            KEY_A,
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    let p = p.json();
    assert_eq!(p["messenger"], json!([]));
    let links = p["instagram"].as_array().unwrap();
    assert_eq!(links.len(), 2, "{p}");
    // The space's account: its login and the window of that IGSID (never written: closed).
    assert_eq!(links[0]["accountId"], IG_ACCOUNT);
    assert_eq!(links[0]["igsid"], "IGSID-351");
    assert_eq!(links[0]["connected"], true);
    assert_eq!(links[0]["login"], "facebook");
    assert_eq!(links[0]["lastInboundAt"], Value::Null);
    assert_eq!(links[0]["windowOpen"], false);
    // An account the space does not have: shown, without a window.
    assert_eq!(
        links[1],
        json!({"accountId": other, "igsid": "IGSID-352", "connected": false, "login": null})
    );
    let plain = start().await;
    let live = plain
        .get(&format!("/console/api/spaces/{SPACE_A}/live"), KEY_A)
        .await
        .json();
    assert_eq!(live["instagram"], json!([]), "no account, no row");
}
