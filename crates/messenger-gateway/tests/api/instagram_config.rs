//! `[[spaces.instagram]]` and `[facebook]`'s Instagram keys: every problem named by its key,
//! tokens never shown, environment overrides reach the accounts.

use messenger::InstagramLogin;
use messenger_gateway::config::Config;

const BASE: &str = r#"
[facebook]
app_secret = "0123456789abcdef0123456789abcdef"
verify_token = "a verify token of 16 or more"
token_key = "a key of at least thirty-two bytes, shared"
"#;

fn space(accounts: &str) -> String {
    format!(
        r#"{BASE}
[[spaces]]
id = "a"
page_id = "1"
page_token = "page-token-a"
keys = ["key-a-0123456789abcdef"]
{accounts}
"#
    )
}

fn issues(toml: &str) -> Vec<String> {
    match Config::from_toml_str(toml, std::iter::empty()) {
        Ok(_) => panic!("accepted:\n{toml}"),
        Err(e) => {
            let text = e.to_string();
            assert!(!text.contains("ig-secret-token"), "{text}");
            e.issues().iter().map(ToString::to_string).collect()
        }
    }
}

#[test]
fn each_problem_of_an_instagram_account_names_its_key() {
    let got = issues(&space(
        r#"
[[spaces.instagram]]
account_id = "not-digits"
login = "myspace"

[[spaces.instagram]]
account_id = "17841400000000102"
login = "instagram"

[[spaces.instagram]]
account_id = "17841400000000103"
token = "ig-secret-token"

[[spaces.instagram]]
account_id = "17841400000000104"
login = "instagram"
token = "ig-secret-token"
private_replies_per_hour = 751
send_rate = 0

[[spaces.instagram]]
account_id = "17841400000000104"
"#,
    ));
    let expected = [
        "spaces[0].instagram[0].account_id: \"not-digits\" is not an Instagram account id",
        "spaces[0].instagram[0].login: \"myspace\" is not facebook",
        "spaces[0].instagram[1].token: missing",
        "spaces[0].instagram[2].token: is set with login = \"facebook\"",
        "spaces[0].instagram[3].send_rate: 0 is under 1",
        "spaces[0].instagram[3].private_replies_per_hour: 751",
        "spaces[0].instagram[3].account_id: uses Instagram Login: set facebook.instagram_app_secret",
        "spaces[0].instagram[4].account_id: the Instagram account is already connected",
    ];
    for want in expected {
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "no {want:?} in {got:#?}"
        );
    }
}

#[test]
fn accounts_come_from_the_file_and_the_environment() {
    let toml = space(
        r#"
[[spaces.instagram]]
account_id = "17841400000000101"
"#,
    )
    .replacen(
        "[facebook]\n",
        "[facebook]\ninstagram_app_secret = \"5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d\"\n",
        1,
    );
    let env = [
        (
            "MESSENGER__SPACES__0__INSTAGRAM__1__ACCOUNT_ID",
            "17841400000000102",
        ),
        ("MESSENGER__SPACES__0__INSTAGRAM__1__LOGIN", "instagram"),
        (
            "MESSENGER__SPACES__0__INSTAGRAM__1__TOKEN",
            "ig-secret-token",
        ),
        ("MESSENGER__FACEBOOK__INSTAGRAM_REFRESH_AFTER_DAYS", "20"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let c = Config::from_toml_str(&toml, env).unwrap();
    let accounts = &c.spaces[0].instagram;
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[0].login, InstagramLogin::Facebook);
    assert!(accounts[0].token.is_none());
    assert_eq!(accounts[1].login, InstagramLogin::Instagram);
    assert_eq!(accounts[1].send_rate, 250);
    assert_eq!(accounts[1].private_replies_per_hour, 625);
    assert_eq!(
        c.facebook.instagram_graph_base_url,
        "https://graph.instagram.com"
    );
    assert_eq!(c.facebook.instagram_refresh_after.as_secs(), 20 * 86_400);
    assert!(!format!("{c:?}").contains("ig-secret-token"));
}
