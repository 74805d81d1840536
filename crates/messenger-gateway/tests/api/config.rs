//! A bad configuration stops start-up with every problem named by its key; secrets never show.

use messenger_gateway::config::{Config, ConfigError};

use crate::harness::config_toml;

fn issues(toml: &str, env: &[(&str, &str)]) -> Vec<String> {
    let vars = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect::<Vec<_>>();
    match Config::from_toml_str(toml, vars) {
        Ok(_) => panic!("accepted:\n{toml}"),
        Err(e) => {
            let text = e.to_string();
            assert!(!text.contains("page-token-a"), "{text}");
            e.issues().iter().map(ToString::to_string).collect()
        }
    }
}

const BASE: &str = r#"
[facebook]
app_secret = "app-secret"
verify_token = "verify"
token_key = "a key of at least thirty-two bytes, shared"
"#;

#[test]
fn missing_and_out_of_range_values_name_their_keys() {
    let toml = format!(
        r#"{BASE}
[[spaces]]
id = "a"
page_id = "1"
page_token = "page-token-a"
keys = ["key-a-0123456789abcdef"]
[spaces.webhook]
url = "https://example.com/hook"
secret = "s"
batch_size = 900
batch_window_ms = 61000
subscriptions = ["message.sent", "message.exploded"]

[[spaces]]
id = "b"
page_token = "page-token-b"
keys = ["short"]
window_check = "sometimes"
[spaces.sms]
provider = "carrier-pigeon"
account_sid = "AC1"
"#
    );
    let got = issues(&toml, &[]);
    let expected = [
        "spaces[0].webhook.subscriptions[1]: \"message.exploded\" is not an event name",
        "spaces[0].webhook.batch_size: 900 is over 500",
        "spaces[0].webhook.batch_window_ms: 61000 is over 60000",
        "spaces[1].page_id: missing",
        "spaces[1].keys[0]: an API key must be at least 16",
        "spaces[1].window_check: \"sometimes\" is not on or off",
        "spaces[1].sms.provider: \"carrier-pigeon\" is not a supported provider",
        "spaces[1].sms.auth_token: missing",
    ];
    for want in expected {
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "no {want:?} in {got:#?}"
        );
    }
    assert_eq!(got.len(), expected.len(), "{got:#?}");
}

#[test]
fn whole_sections_and_uniqueness() {
    let got = issues("", &[]);
    for want in [
        "facebook.app_secret: missing",
        "facebook.verify_token: missing",
        "facebook.token_key: missing",
        "spaces: missing",
    ] {
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "{want} in {got:#?}"
        );
    }
    let toml = format!(
        r#"{BASE}
[server]
listen = "everywhere"
[database]
url = "mysql://db/m"
[dispatch]
workers = 0
[[spaces]]
id = "a"
page_id = "1"
page_token = "t"
keys = ["key-a-0123456789abcdef"]
[[spaces]]
id = "a"
page_id = "1"
page_token = "t"
keys = ["key-a-0123456789abcdef"]
"#
    );
    let got = issues(&toml, &[]);
    for want in [
        "server.listen: is not an address",
        "database.url: must start with sqlite:",
        "dispatch.workers: 0 is under 1",
        "spaces[1].id: \"a\" is used by another space",
        "spaces[1].page_id: the page is already in another space",
        "spaces[1].keys[0]: the key is used twice",
    ] {
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "{want} in {got:#?}"
        );
    }
}

#[test]
fn environment_overrides_fill_and_fix_the_file() {
    let toml = config_toml("http://127.0.0.1:1", "memory://", "");
    let vars = [
        ("MESSENGER__DATABASE__URL", "sqlite://./elsewhere/m.db"),
        ("MESSENGER__DISPATCH__WORKERS", "7"),
        ("MESSENGER__SPACES__1__CUSTOMER_MATCHING", "true"),
        (
            "MESSENGER__SPACES__1__WEBHOOK__URL",
            "https://globex.example/hook",
        ),
        ("MESSENGER__SPACES__1__WEBHOOK__SECRET", "hook-secret"),
        (
            "MESSENGER__SPACES__1__WEBHOOK__SUBSCRIPTIONS",
            "message.sent,message.read",
        ),
        ("UNRELATED", "x"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let c = Config::from_toml_str(&toml, vars).unwrap();
    assert_eq!(c.database.url.expose(), "sqlite://./elsewhere/m.db");
    assert_eq!(c.dispatch.workers, 7);
    assert!(c.spaces[1].customer_matching);
    let hook = c.spaces[1].webhook.as_ref().unwrap();
    assert_eq!(hook.subscriptions.len(), 2);
    assert_eq!(hook.batch_size, 1);
    assert_eq!(hook.retry_schedule.len(), 17);
    let debug = format!("{c:?}");
    for secret in [
        "hook-secret",
        "page-token-a",
        "acme-key-0123456789abcdef",
        "app-secret",
    ] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }

    let got = issues(&toml, &[("MESSENGER__DISPATCH__WORKRS", "2")]);
    assert_eq!(
        got,
        ["MESSENGER__DISPATCH__WORKRS: not a configuration setting (see docs/configuration.md for the list)"]
    );
}

#[test]
fn toml_errors_say_where_without_echoing_the_line() {
    let err = Config::from_toml_str(
        "[facebook]\napp_secret = \"top-secret-value\n",
        std::iter::empty(),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }));
    let text = err.to_string();
    assert!(text.contains("line 2"), "{text}");
    assert!(!text.contains("top-secret-value"), "{text}");
    let err =
        Config::from_toml_str("[facebook]\nap_secret = \"x\"\n", std::iter::empty()).unwrap_err();
    assert!(err.to_string().contains("ap_secret"), "{err}");
}

#[test]
fn database_schema_and_pool_are_checked() {
    let toml = format!(
        r#"{BASE}
[database]
url = "sqlite://./data/m.db"
schema = "9bad-name"
max_connections = 0

[[spaces]]
id = "a"
page_id = "1"
page_token = "page-token-a"
keys = ["key-a-0123456789abcdef"]
"#
    );
    let got = issues(&toml, &[]);
    assert!(
        got.iter()
            .any(|i| i.starts_with("database.schema: use 1 to 63")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|i| i == "database.schema: is only for PostgreSQL"),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|i| i.starts_with("database.max_connections: 0")),
        "{got:?}"
    );

    let ok = format!(
        r#"{BASE}
[database]
url = "postgres://postgres@127.0.0.1:5432/test"

[[spaces]]
id = "a"
page_id = "1"
page_token = "page-token-a"
keys = ["key-a-0123456789abcdef"]
"#
    );
    let config = Config::from_toml_str(
        &ok,
        [
            (
                "MESSENGER__DATABASE__SCHEMA".to_owned(),
                "tenant_7".to_owned(),
            ),
            (
                "MESSENGER__DATABASE__MAX_CONNECTIONS".to_owned(),
                "8".to_owned(),
            ),
        ],
    )
    .unwrap();
    assert_eq!(config.database.schema.as_deref(), Some("tenant_7"));
    assert_eq!(config.database.max_connections, 8);
}
