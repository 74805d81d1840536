//! Sender actions on Instagram against graph-sim's two hosts: typing and mark seen to an IGSID
//! that wrote, a reaction to the customer's message, each from the account that addresses the
//! customer through that account's own transport; a closed window, a persona, a reaction to a
//! Messenger recipient and a reaction without its message are refused, naming the field, before
//! Graph is called.

use std::sync::Arc;

use graph_sim::{GraphSim, InstagramHost, InstagramLogin as SimLogin};
use messenger::send::ActionRequest;
use messenger::{Error, InstagramAccount, InstagramLogin, Messenger, Space};
use messenger_graph::GraphClient;
use messenger_model::graph::SenderAction;
use messenger_model::{Channel, Profile, Timestamp, To};
use messenger_store::{MemoryStore, ProfileStore};

const SPACE: &str = "default";
const PAGE: &str = "PAGE-1";
const PAGE_TOKEN: &str = "page-token-1";
const APP_SECRET: &str = "app-secret-1";
/// Connected through the page (Facebook Login).
const IG_PAGE: &str = "17841400000000101";
/// Connected with Instagram Login (its own token on the Instagram host).
const IG_LOGIN: &str = "17841400000000102";
const IG_TOKEN: &str = "ig-user-token-of-102";
const IG_SECRET: &str = "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d";
/// The `mid` of a customer's message, as Instagram's webhooks carry one.
const MID: &str = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMTAx";
const HOUR_MS: i64 = 3_600_000;

struct Env {
    sim: GraphSim,
    messenger: Messenger,
    store: Arc<MemoryStore>,
}

/// A facade whose space has both kinds of Instagram account, against a simulator serving both
/// hosts.
async fn start() -> Env {
    let sim = GraphSim::builder()
        .page(PAGE, PAGE_TOKEN)
        .app_secret(APP_SECRET)
        .instagram_host(true)
        .instagram_account(IG_PAGE, SimLogin::Page(PAGE.into()))
        .instagram_account(
            IG_LOGIN,
            SimLogin::instagram(IG_TOKEN, IG_SECRET, "9000000000000102", "acme.shop"),
        )
        .start()
        .await
        .unwrap();
    let base = GraphClient::builder()
        .base_url(sim.base_url())
        .app_secret(APP_SECRET)
        .instagram_base_url(sim.instagram_url().unwrap())
        .instagram_app_secret(IG_SECRET)
        .build()
        .unwrap();
    let page = Arc::new(base.for_page(PAGE_TOKEN).unwrap());
    let by_page = InstagramAccount::new(IG_PAGE, InstagramLogin::Facebook, page.clone());
    let by_login = InstagramAccount::instagram_login(IG_LOGIN, &base, IG_TOKEN).unwrap();
    let space = Space::new(SPACE, PAGE, page)
        .connect_instagram(by_page)
        .connect_instagram(by_login);
    let store = Arc::new(MemoryStore::new());
    let messenger = Messenger::builder()
        .store(store.clone())
        .space(space)
        .build()
        .unwrap();
    Env {
        sim,
        messenger,
        store,
    }
}

impl Env {
    /// A new Instagram user of `account` who wrote `ago_ms` milliseconds ago, as both Instagram
    /// (graph-sim's window) and the facade's store know it.
    async fn wrote(&self, account: &str, ago_ms: i64) -> String {
        let igsid = self.sim.new_instagram_user(account).unwrap();
        let at = Timestamp::now().add_millis(-ago_ms);
        self.sim.set_last_inbound(account, &igsid, at.millis());
        self.store
            .record_inbound(SPACE, account, &igsid, at)
            .await
            .unwrap();
        igsid
    }

    async fn send(&self, req: &ActionRequest) -> Result<messenger::ActionSent, Error> {
        self.messenger.send_action(SPACE, req).await
    }

    /// What both accounts sent, as `account:host:action:recipient:mid:reaction`.
    fn actions(&self) -> Vec<String> {
        [IG_PAGE, IG_LOGIN]
            .iter()
            .flat_map(|a| self.sim.instagram_actions(a))
            .map(|a| {
                let host = match a.host {
                    InstagramHost::Facebook => "facebook",
                    InstagramHost::Instagram => "instagram",
                };
                format!(
                    "{}:{host}:{}:{}:{}:{}",
                    a.account_id,
                    a.action,
                    a.recipient_id,
                    a.message_id.unwrap_or_default(),
                    a.reaction.unwrap_or_default()
                )
            })
            .collect()
    }
}

/// The refused action's violations as `code@pointer`.
fn refused(outcome: Result<messenger::ActionSent, Error>) -> Vec<String> {
    match outcome {
        Err(Error::ActionRefused(v)) => v
            .iter()
            .map(|v| format!("{}@{}", v.code.as_str(), v.pointer))
            .collect(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn typing_and_mark_seen_go_to_an_igsid_that_wrote_from_its_account() {
    let env = start().await;
    let igsid = env.wrote(IG_PAGE, HOUR_MS).await;

    let to = To::instagram_id(igsid.as_str());
    for action in [
        SenderAction::TypingOn,
        SenderAction::TypingOff,
        SenderAction::MarkSeen,
    ] {
        let sent = env
            .send(&ActionRequest::new(to.clone(), action))
            .await
            .unwrap();
        assert_eq!(sent.action, action);
        assert_eq!(sent.channel, Channel::Instagram);
        assert_eq!(sent.sent_from, IG_PAGE);
        assert_eq!(sent.source.describe(), "to.instagramId");
    }
    assert_eq!(
        env.actions(),
        [
            format!("{IG_PAGE}:facebook:typing_on:{igsid}::"),
            format!("{IG_PAGE}:facebook:typing_off:{igsid}::"),
            format!("{IG_PAGE}:facebook:mark_seen:{igsid}::"),
        ]
    );
    assert!(
        env.sim.sender_actions().is_empty(),
        "nothing went to Messenger"
    );
}

#[tokio::test]
async fn a_profile_with_only_an_igsid_is_reached_from_its_account_on_the_instagram_host() {
    let env = start().await;
    let igsid = env.wrote(IG_LOGIN, HOUR_MS).await;
    let alice = Profile::new("alice").with_instagram_id(IG_LOGIN, igsid.as_str());
    env.store.replace_profile(SPACE, alice).await.unwrap();

    let sent = env
        .send(&ActionRequest::new(
            To::profile("alice"),
            SenderAction::TypingOn,
        ))
        .await
        .unwrap();
    assert_eq!(
        (sent.channel, sent.sent_from.as_str()),
        (Channel::Instagram, IG_LOGIN)
    );
    assert_eq!(sent.source.describe(), "profile.instagramIds");
    assert_eq!(
        env.actions(),
        [format!("{IG_LOGIN}:instagram:typing_on:{igsid}::")]
    );
}

#[tokio::test]
async fn a_reaction_to_the_customers_message_is_recorded_with_its_mid_then_removed() {
    let env = start().await;
    let igsid = env.wrote(IG_LOGIN, HOUR_MS).await;
    let bob = Profile::new("bob").with_instagram_id(IG_LOGIN, igsid.as_str());
    env.store.replace_profile(SPACE, bob).await.unwrap();

    let sent = env
        .send(&ActionRequest::react(To::profile("bob"), MID, "love"))
        .await
        .unwrap();
    assert_eq!(
        (sent.action, sent.channel),
        (SenderAction::React, Channel::Instagram)
    );
    env.send(&ActionRequest::unreact(To::profile("bob"), MID))
        .await
        .unwrap();
    assert_eq!(
        env.actions(),
        [
            format!("{IG_LOGIN}:instagram:react:{igsid}:{MID}:love"),
            format!("{IG_LOGIN}:instagram:unreact:{igsid}:{MID}:"),
        ]
    );
}

#[tokio::test]
async fn a_closed_window_refuses_the_action_before_graph() {
    let env = start().await;
    let stale = env.wrote(IG_PAGE, 25 * HOUR_MS).await;
    let unknown = env.sim.new_instagram_user(IG_PAGE).unwrap();

    for igsid in [&stale, &unknown] {
        let to = To::instagram_id(igsid.as_str());
        let outcome = env
            .send(&ActionRequest::react(to.clone(), MID, "love"))
            .await;
        let Err(Error::ActionRefused(v)) = &outcome else {
            panic!("{outcome:?}");
        };
        assert!(v[0].message.contains("Instagram's 24-hour"), "{v:?}");
        assert_eq!(refused(outcome), ["window.closed@/action"]);
        let typing = env
            .send(&ActionRequest::new(to, SenderAction::TypingOn))
            .await;
        assert_eq!(refused(typing), ["window.closed@/action"]);
    }
    assert!(env.actions().is_empty(), "{:?}", env.actions());
}

#[tokio::test]
async fn a_persona_on_instagram_and_a_reaction_to_messenger_are_refused_naming_the_field() {
    let env = start().await;
    let igsid = env.wrote(IG_PAGE, HOUR_MS).await;
    let to = To::instagram_id(igsid.as_str());

    let typing = ActionRequest::new(to.clone(), SenderAction::TypingOn).persona("1234567890");
    assert_eq!(
        refused(env.send(&typing).await),
        ["channel.unsupported@/personaId"]
    );
    let react = ActionRequest::react(to.clone(), MID, "love").persona("1234567890");
    assert_eq!(
        refused(env.send(&react).await),
        ["channel.unsupported@/personaId"]
    );

    // Messenger takes no reactions: to a PSID, or to a profile reached only on Messenger.
    let psid = To::fb_messenger_id("24000000000001");
    assert_eq!(
        refused(env.send(&ActionRequest::react(psid, MID, "love")).await),
        ["channel.unsupported@/action"]
    );
    let carol = Profile::new("carol").with_fb_messenger_id("24000000000002");
    env.store.replace_profile(SPACE, carol).await.unwrap();
    assert_eq!(
        refused(
            env.send(&ActionRequest::unreact(To::profile("carol"), MID))
                .await
        ),
        ["channel.unsupported@/action"]
    );

    // A reaction needs the customer's message and a reaction Meta documents.
    let mut no_mid = ActionRequest::react(to.clone(), MID, "love");
    no_mid.message_id = None;
    assert_eq!(
        refused(env.send(&no_mid).await),
        ["field.required@/messageId"]
    );
    let other = ActionRequest::react(to.clone(), MID, "like");
    assert_eq!(refused(env.send(&other).await), ["field.enum@/reaction"]);
    let mut unreact_with = ActionRequest::unreact(to.clone(), MID);
    unreact_with.reaction = Some("love".into());
    assert_eq!(
        refused(env.send(&unreact_with).await),
        ["field.unknown@/reaction"]
    );
    let mut typing_with_mid = ActionRequest::new(to, SenderAction::TypingOn);
    typing_with_mid.message_id = Some(MID.into());
    assert_eq!(
        refused(env.send(&typing_with_mid).await),
        ["field.unknown@/messageId"]
    );

    assert!(env.actions().is_empty(), "{:?}", env.actions());
    assert!(env.sim.sender_actions().is_empty());
}
