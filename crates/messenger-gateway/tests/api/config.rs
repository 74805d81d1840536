//! A bad configuration stops start-up with every problem named by its key; secrets never show.

use std::time::Duration;

use messenger_gateway::config::{Config, ConfigError};

use crate::harness::{config_toml, APP_SECRET};

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
app_secret = "0123456789abcdef0123456789abcdef"
verify_token = "a verify token of 16 or more"
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
        APP_SECRET,
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

#[test]
fn keys_may_be_given_as_digests_and_bad_digests_are_named() {
    // printf %s 'key-a-0123456789abcdef' | openssl dgst -sha256
    let digest_a = "cb9be82a90bf613c27918d6de6eb10f4e8950ff3a2cafa1980afe5c33b689c0f";
    let not_hex = format!("{}g", &digest_a[..63]);
    let toml = format!(
        r#"{BASE}
[[spaces]]
id = "a"
page_id = "1"
page_token = "page-token-a"
keys_sha256 = ["{digest_a}"]

[[spaces]]
id = "b"
page_id = "2"
page_token = "page-token-b"
keys = []
keys_sha256 = ["{digest_a}", "{short}", "{not_hex}"]

[[spaces]]
id = "c"
page_id = "3"
page_token = "page-token-c"
keys = []

[[spaces]]
id = "d"
page_id = "4"
page_token = "page-token-d"
keys = ["key-a-0123456789abcdef"]
"#,
        short = &digest_a[..63],
    );
    let got = issues(&toml, &[]);
    for want in [
        "spaces[1].keys_sha256[0]: the key is used twice",
        "spaces[1].keys_sha256[1]: is not a SHA-256 digest: give 64 hex digits (got 63",
        "spaces[1].keys_sha256[2]: is not a SHA-256 digest: give 64 hex digits (got 64",
        "spaces[2].keys: is empty: give the space at least one API key (keys or keys_sha256)",
        // The plain key of space d has the digest of space a.
        "spaces[3].keys[0]: the key is used twice",
    ] {
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "{want} in {got:#?}"
        );
    }
    assert!(
        !got.iter().any(|g| g.starts_with("spaces[0]")),
        "a space with only digests is fine: {got:#?}"
    );
    assert!(
        !got.iter().any(|g| g.starts_with("spaces[1].keys:")),
        "keys may be empty beside keys_sha256: {got:#?}"
    );

    // The environment sets digests too.
    let toml = format!(
        r#"{BASE}
[[spaces]]
id = "a"
page_id = "1"
page_token = "page-token-a"
"#
    );
    let config = Config::from_toml_str(
        &toml,
        [(
            "MESSENGER__SPACES__0__KEYS_SHA256".to_owned(),
            digest_a.to_uppercase(),
        )],
    )
    .unwrap();
    assert_eq!(config.spaces[0].keys_sha256[0].to_hex(), digest_a);
    assert!(config.spaces[0].keys.is_empty());
}

#[test]
fn ops_listener_and_webhook_reading_settings() {
    let base = config_toml("http://127.0.0.1:1", "memory://", "");
    let config = Config::from_toml_str(&base, std::iter::empty()).unwrap();
    assert_eq!(config.server.ops_listen, None);
    assert!(config.server.admin_keys.is_empty() && config.server.admin_keys_sha256.is_empty());
    assert_eq!(
        config.server.limits.webhook_read_timeout,
        std::time::Duration::from_secs(10)
    );
    assert_eq!(config.server.limits.webhook_concurrent_reads, 64);

    let config = Config::from_toml_str(
        &base,
        [
            ("MESSENGER__SERVER__OPS_LISTEN", "127.0.0.1:9090"),
            ("MESSENGER__SERVER__WEBHOOK_READ_TIMEOUT_SECS", "3"),
            ("MESSENGER__SERVER__WEBHOOK_CONCURRENT_READS", "8"),
            (
                "MESSENGER__SERVER__ADMIN_KEYS",
                "admin-key-0123456789abcdef",
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .unwrap();
    assert_eq!(
        config.server.ops_listen,
        Some("127.0.0.1:9090".parse().unwrap())
    );
    assert_eq!(
        config.server.limits.webhook_read_timeout,
        std::time::Duration::from_secs(3)
    );
    assert_eq!(config.server.limits.webhook_concurrent_reads, 8);
    assert_eq!(config.server.admin_keys.len(), 1);
    assert!(!format!("{config:?}").contains("admin-key-0123456789abcdef"));

    let got = issues(
        &base,
        &[
            ("MESSENGER__SERVER__OPS_LISTEN", "the back door"),
            ("MESSENGER__SERVER__WEBHOOK_READ_TIMEOUT_SECS", "0"),
            ("MESSENGER__SERVER__WEBHOOK_CONCURRENT_READS", "100000"),
        ],
    );
    for want in [
        "server.ops_listen: is not an address and port",
        "server.webhook_read_timeout_secs: 0 is under 1",
        "server.webhook_concurrent_reads: 100000 is over 10000",
    ] {
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "{want} in {got:#?}"
        );
    }
}

#[test]
fn send_rates_of_zero_or_below_name_their_keys() {
    let toml = format!(
        r#"{BASE}
[[spaces]]
id = "a"
page_id = "1"
page_token = "page-token-a"
keys = ["key-a-0123456789abcdef"]
send_rate = 0
media_send_rate = -3
"#
    );
    let got = issues(&toml, &[]);
    assert_eq!(
        got,
        [
            "spaces[0].send_rate: 0 is under 1: a page's rate is at least 1 send a second",
            "spaces[0].media_send_rate: -3 is under 1: a page's rate is at least 1 send a second",
        ]
    );
    let got = issues(&toml, &[("MESSENGER__SPACES__0__SEND_RATE", "300")]);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].starts_with("spaces[0].media_send_rate"), "{got:#?}");
    let fixed = toml.replace("send_rate = 0\nmedia_send_rate = -3\n", "send_rate = 100\n");
    let config = Config::from_toml_str(&fixed, Vec::<(String, String)>::new()).unwrap();
    assert_eq!(
        (config.spaces[0].send_rate, config.spaces[0].media_send_rate),
        (100, messenger_graph::rates::DEFAULT_MEDIA_SEND_RATE)
    );
    // The backlog bound: an hour by default, named when out of range, set by the environment.
    assert_eq!(
        config.spaces[0].max_backlog,
        Duration::from_secs(messenger_gateway::config::DEFAULT_MAX_BACKLOG_SECS)
    );
    let over = fixed.replace(
        "send_rate = 100\n",
        "send_rate = 100\nmax_backlog_secs = 0\n",
    );
    assert_eq!(
        issues(&over, &[]),
        ["spaces[0].max_backlog_secs: 0 is under 1"]
    );
    let config = Config::from_toml_str(
        &fixed,
        [(
            "MESSENGER__SPACES__0__MAX_BACKLOG_SECS".to_owned(),
            "60".to_owned(),
        )],
    )
    .unwrap();
    assert_eq!(config.spaces[0].max_backlog, Duration::from_secs(60));
}

#[test]
fn weak_facebook_secrets_name_their_keys_never_their_values() {
    let spaces = r#"
[[spaces]]
id = "a"
page_id = "1"
page_token = "page-token-a"
keys = ["key-a-0123456789abcdef"]
"#;
    let with = |secret: &str, token: &str| {
        format!(
            "[facebook]\napp_secret = \"{secret}\"\nverify_token = \"{token}\"\n\
             token_key = \"a key of at least thirty-two bytes, shared\"\n{spaces}"
        )
    };
    for (secret, token, want) in [
        (
            "s",
            "a verify token of 16 or more",
            "facebook.app_secret: is not an app secret",
        ),
        (
            "0123456789abcdef0123456789abcdeX",
            "a verify token of 16 or more",
            "facebook.app_secret: is not an app secret",
        ),
        (
            "0123456789abcdef0123456789abcdef0",
            "a verify token of 16 or more",
            "facebook.app_secret: is not an app secret",
        ),
        (
            "0123456789abcdef0123456789abcdef",
            "v",
            "facebook.verify_token: is 1 characters",
        ),
        (
            "0123456789abcdef0123456789abcdef",
            "fifteen-chars-x",
            "facebook.verify_token: is 15 characters",
        ),
    ] {
        let got = issues(&with(secret, token), &[]);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert!(got[0].starts_with(want), "{want} in {got:#?}");
        for value in [secret, token].into_iter().filter(|v| v.len() >= 8) {
            assert!(!got[0].contains(value), "a secret in {got:#?}");
        }
        assert!(
            got[0].contains("16") || got[0].contains("32 hex"),
            "{got:?}"
        );
    }
    // Through the environment too.
    let toml = with(
        "0123456789abcdef0123456789abcdef",
        "a verify token of 16 or more",
    );
    let got = issues(&toml, &[("MESSENGER__FACEBOOK__APP_SECRET", "top-secret")]);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].starts_with("facebook.app_secret: "), "{got:?}");
    assert!(!got[0].contains("top-secret"), "{got:?}");
    // Upper-case hex and a 16-character token are what Meta and the rule allow.
    let ok = with("0123456789ABCDEF0123456789ABCDEF", "sixteen-chars-xx");
    assert!(Config::from_toml_str(&ok, std::iter::empty()).is_ok());
}

#[test]
fn listener_settings_name_their_keys() {
    let toml = format!(
        r#"
[server]
max_in_flight = 100
space_max_in_flight = 200
large_batches = 2
space_large_batches = 3
webhook_concurrent_reads = 4
webhook_reads_per_client = 5
header_read_timeout_secs = 0
idle_timeout_secs = 999999
trusted_proxies = ["10.0.0.0/8", "proxy.internal"]
metrics_keys = ["short"]
{BASE}
[[spaces]]
id = "a"
page_id = "1"
page_token = "page-token-a"
keys = ["key-a-0123456789abcdef"]
"#
    );
    let got = issues(&toml, &[("MESSENGER__SERVER__MAX_CONNECTIONS", "0")]);
    for expected in [
        "server.space_max_in_flight: 200 is over server.max_in_flight (100)",
        "server.space_large_batches: 3 is over server.large_batches (2)",
        "server.webhook_reads_per_client: 5 is over server.webhook_concurrent_reads (4)",
        "server.header_read_timeout_secs: 0 is under 1",
        "server.idle_timeout_secs: 999999 is over 3600",
        "server.trusted_proxies[1]: is not an address or a network",
        "server.metrics_keys[0]: a metrics key must be at least 16",
        "server.max_connections: 0 is under 1",
    ] {
        assert!(
            got.iter().any(|g| g.starts_with(expected)),
            "no {expected:?} in {got:#?}"
        );
    }
}

#[test]
fn instance_id_and_state_dir() {
    let base = config_toml("http://127.0.0.1:1", "memory://", "");
    let config = Config::from_toml_str(&base, std::iter::empty()).unwrap();
    assert_eq!(
        config.server.instance_id, None,
        "found at start when not set"
    );
    assert_eq!(config.server.state_dir, std::path::PathBuf::from("./data"));
    let config = Config::from_toml_str(
        &base,
        [
            ("MESSENGER__SERVER__INSTANCE_ID", "gw-7"),
            ("MESSENGER__SERVER__STATE_DIR", "/var/lib/messenger-gateway"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .unwrap();
    assert_eq!(config.server.instance_id.as_deref(), Some("gw-7"));
    assert_eq!(
        config.server.state_dir,
        std::path::PathBuf::from("/var/lib/messenger-gateway")
    );
    let got = issues(
        &base,
        &[
            ("MESSENGER__SERVER__INSTANCE_ID", " "),
            ("MESSENGER__SERVER__STATE_DIR", ""),
        ],
    );
    for want in [
        "server.instance_id: must be 1 to 64 characters",
        "server.state_dir: must be a directory path",
    ] {
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "{want} in {got:#?}"
        );
    }
}
