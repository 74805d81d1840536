//! The Instagram tests' gateway: space A connects two Instagram accounts, one through its page
//! (Facebook Login) and one with Instagram Login (its own token, host and app secret), against a
//! graph-sim that serves both (its Instagram host too).

use graph_sim::{GraphSim, InstagramLogin};

use crate::harness::Env;

/// Connected through page A (the Facebook app signs its webhooks).
pub(crate) const IG_PAGE: &str = "17841400000000101";
/// Connected with Instagram Login (its own app signs its webhooks).
pub(crate) const IG_LOGIN: &str = "17841400000000102";
pub(crate) const IG_TOKEN: &str = "ig-user-token-of-account-102";
pub(crate) const IG_SECRET: &str = "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d";

/// Space A's two accounts, as `space_a_extra`.
pub(crate) const ACCOUNTS: &str = r#"
[[spaces.instagram]]
account_id = "17841400000000101"

[[spaces.instagram]]
account_id = "17841400000000102"
login = "instagram"
token = "ig-user-token-of-account-102"
"#;

/// A gateway with `server_extra` in `[server]` and `space_a_extra` added to space A (its
/// accounts, e.g. [`ACCOUNTS`]), the configuration then passed through `edit`; graph-sim knows
/// both accounts and `[facebook]` has the Instagram app's secret and host.
pub(crate) async fn start_instagram(
    server_extra: &str,
    space_a_extra: &str,
    edit: impl FnOnce(String) -> String,
) -> Env {
    Env::start_simulating(
        server_extra,
        space_a_extra,
        |b| {
            b.instagram_host(true)
                .instagram_account(IG_PAGE, InstagramLogin::Page(crate::harness::PAGE_A.into()))
                .instagram_account(
                    IG_LOGIN,
                    InstagramLogin::instagram(IG_TOKEN, IG_SECRET, "9000000000000102", "acme.shop"),
                )
        },
        |sim: &GraphSim, toml| {
            let ig = sim.instagram_url().expect("the Instagram host");
            edit(toml.replacen(
                "[facebook]\n",
                &format!(
                    "[facebook]\ninstagram_app_secret = \"{IG_SECRET}\"\n\
                     instagram_graph_base_url = \"{ig}\"\n"
                ),
                1,
            ))
        },
    )
    .await
}
