//! Two gateway processes on one PostgreSQL schema, sending to one graph-sim: the setup of the
//! tests about what two instances do together ([`crate::pacing`], [`crate::shared_queue`]).

use graph_sim::GraphSim;

use crate::child::{GatewayProcess, Workdir};
use crate::sim::{paced_config_toml, start_sim, Dispatch};
use messenger_test_support::postgres::TestSchema;

/// Two `serve` children, `a` and `b`, with one configuration file on a fresh schema of the
/// test PostgreSQL, and the graph-sim they send to.
///
/// Fields drop in declaration order: both processes are killed first, then graph-sim stops, then
/// the working directory goes (printing the children's log tails if the test panicked), and the
/// schema is dropped last, after both processes are gone.
pub(crate) struct TwoGateways {
    /// The first process started (it runs the migrations).
    pub a: GatewayProcess,
    /// The second process, started once `a` serves.
    pub b: GatewayProcess,
    /// The simulator both processes send to.
    pub sim: GraphSim,
    /// The configuration file and the children's logs.
    _dir: Workdir,
    /// The PostgreSQL schema both processes use.
    _schema: TestSchema,
}

impl TwoGateways {
    /// Creates a schema, starts graph-sim, writes `gateway.toml` ([`paced_config_toml`] with
    /// `dispatch` and the page's `send_rate`), and starts `a` and then `b` on it: one after the
    /// other, so that the first runs the migrations. `None` when the test PostgreSQL is not
    /// reachable outside CI (after [`TestSchema::create`]'s loud message).
    pub(crate) async fn start(dispatch: Dispatch, send_rate: u32) -> Option<Self> {
        Self::start_on(start_sim().await, dispatch, send_rate, |toml| toml).await
    }

    /// Like [`TwoGateways::start`], with `sim` and the configuration passed through `edit`.
    pub(crate) async fn start_on(
        sim: GraphSim,
        dispatch: Dispatch,
        send_rate: u32,
        edit: impl FnOnce(String) -> String,
    ) -> Option<Self> {
        let schema = TestSchema::create("gw_process").await?;
        let dir = Workdir::new();
        let config = dir.write(
            "gateway.toml",
            &edit(paced_config_toml(
                &sim,
                &schema.url_with_search_path(),
                dispatch,
                send_rate,
            )),
        );
        let a = GatewayProcess::start(&dir, "a", &config).await;
        let b = GatewayProcess::start(&dir, "b", &config).await;
        Some(Self {
            a,
            b,
            sim,
            _dir: dir,
            _schema: schema,
        })
    }
}
