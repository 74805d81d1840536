//! A page whose token stopped working (decision 0022), with a clock the test moves: its messages
//! wait without calling Graph, are leased once a minute so the space's `fallback_on_outage`
//! still hands them to SMS on time, and go out on Messenger once the token is valid again.

use std::time::Duration;

use crate::common::{body, harness_with, ManualClock, SPACE, TOKEN};
use messenger_graph::TokenProblem;
use messenger_model::{Channel, MessageStatus, RuleCause};
use serde_json::json;

#[tokio::test]
async fn a_page_needing_reauth_waits_sweeps_hands_over_on_its_outage_rule_and_resumes() {
    let clock = ManualClock::starting_now();
    let h = harness_with(
        |s| {
            s.window_check(false)
                .fallback_on_outage(Duration::from_secs(90))
        },
        |b| b.clock(clock.as_clock()),
        false,
    )
    .await;
    let sends = || {
        h.sim
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
            .count()
    };
    assert!(h.sim.revoke_token(TOKEN, Some(460)));
    let to_sms = json!({"fbMessengerId": "24000000002001", "mobileNumber": "+447700900201"});
    let a = h
        .messenger
        .accept(SPACE, &body(to_sms, &["fbMessenger", "sms"]), None)
        .await
        .unwrap();
    let round = h.messenger.dispatch_due("w1", 64).await.unwrap();
    assert_eq!(round.retrying, 1, "{round:?}");
    assert_eq!(sends(), 1, "one call found the token dead");
    let space = h.messenger.space(SPACE).unwrap();
    let reauth = space
        .health
        .reauth()
        .expect("the page needs new credentials");
    assert_eq!(reauth.problem, TokenProblem::PasswordChanged);

    // Messenger only: it waits for the token, and the outage rule leaves it no next rule.
    let b = h
        .messenger
        .accept(
            SPACE,
            &body(json!({"fbMessengerId": "24000000002002"}), &["fbMessenger"]),
            None,
        )
        .await
        .unwrap();
    clock.advance(Duration::from_secs(5));
    let round = h.messenger.dispatch_due("w1", 64).await.unwrap();
    assert_eq!(round.leased, 0, "not leased between sweeps: {round:?}");

    // A minute later, one sweep: leased, given back without calling Graph (60 s < 90 s).
    clock.advance(Duration::from_secs(55));
    let round = h.messenger.dispatch_due("w1", 64).await.unwrap();
    assert_eq!((round.leased, round.retrying), (2, 2), "{round:?}");
    assert_eq!(sends(), 1, "no retry storm");
    assert_eq!(h.message(&a.id).await.status, MessageStatus::Retrying);

    // Past the space's 90 s, the next sweep hands the first message to SMS; the second has no
    // rule after Messenger, so the space's rule fails it.
    clock.advance(Duration::from_secs(60));
    let round = h.messenger.dispatch_due("w1", 64).await.unwrap();
    assert_eq!((round.sent, round.failed), (1, 1), "{round:?}");
    assert_eq!(h.message(&b.id).await.status, MessageStatus::Failed);
    let sent = h.message(&a.id).await;
    assert_eq!(sent.channel, Some(Channel::Sms));
    assert!(sent
        .rule_trace
        .iter()
        .any(|t| t.channel == Channel::FbMessenger && t.cause == RuleCause::Outage));
    assert_eq!(h.sim.sms_messages().len(), 1);
    assert_eq!(sends(), 1);

    // The token works again and a check says so: Messenger sends again at once.
    assert!(h.sim.restore_token(TOKEN));
    assert!(space.health.token_valid());
    let c = h
        .messenger
        .accept(
            SPACE,
            &body(json!({"fbMessengerId": "24000000002003"}), &["fbMessenger"]),
            None,
        )
        .await
        .unwrap();
    h.dispatch_all().await;
    let c = h.message(&c.id).await;
    assert_eq!(c.status, MessageStatus::Sent);
    assert_eq!(c.channel, Some(Channel::FbMessenger));
    assert_eq!(sends(), 2);
}
