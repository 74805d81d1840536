//! HTTP/2 to Graph: with prior knowledge, many sends under way at once share one connection (or
//! the few the client spreads over); over HTTP/1.1 each send under way needs a connection of its
//! own.

use std::time::Duration;

use graph_sim::{Fault, FaultRule, GraphSim};
use messenger_graph::GraphClient;

use crate::common::{sim, text, APP_SECRET, PSID, TOKEN};

const AT_ONCE: usize = 40;

fn client(sim: &GraphSim, http2: bool, connections: usize) -> GraphClient {
    GraphClient::builder()
        .base_url(sim.base_url())
        .page_access_token(TOKEN)
        .app_secret(APP_SECRET)
        .http2_prior_knowledge(http2)
        .connections(connections)
        .build()
        .expect("client builds")
}

/// Sends `AT_ONCE` messages at once to a sim that holds each answer, so they are all under
/// way together; returns the connections the sim accepted.
async fn connections_for(http2: bool, connections: usize) -> (u64, u64) {
    let sim = sim().await;
    // Held long enough that every send is under way before the first answer.
    sim.fault(FaultRule::global(Fault::Slow {
        delay: Duration::from_millis(300),
    }));
    let client = client(&sim, http2, connections);
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..AT_ONCE {
        let client = client.clone();
        sends.spawn(async move { client.send(&text(PSID, &format!("m{i}"))).await });
    }
    while let Some(answer) = sends.join_next().await {
        answer.expect("no send panics").expect("the send succeeds");
    }
    assert_eq!(sim.sent_count(), AT_ONCE as u64);
    (sim.connections_accepted(), sim.max_requests_in_flight())
}

#[tokio::test]
async fn http2_keeps_sends_under_way_on_one_connection() {
    let (connections, at_once) = connections_for(true, 1).await;
    assert_eq!(
        connections, 1,
        "HTTP/2 multiplexes every send on one connection"
    );
    assert_eq!(at_once, AT_ONCE as u64, "all were under way together");
    // Spread over four: one connection each, the sends taking them in turn.
    let (connections, at_once) = connections_for(true, 4).await;
    assert_eq!((connections, at_once), (4, AT_ONCE as u64));
    let (connections, at_once) = connections_for(false, 1).await;
    assert_eq!(at_once, AT_ONCE as u64);
    assert_eq!(
        connections, AT_ONCE as u64,
        "HTTP/1.1 needs a connection for each send under way"
    );
}
