//! The connection doctor's report: for each page, its token (valid, expiry, permissions), the
//! app's webhook subscription against the fields the space's features need, the Graph version
//! against those the gateway accepts, and the last signed webhook delivery per field. Each
//! finding says what to do.

use messenger_model::graph::{graph_version, NEWEST_GRAPH_VERSION};
use messenger_model::Timestamp;
use serde::Serialize;

use super::token::{TokenCheck, TokenState, NEEDED_SCOPES};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// As it should be.
    Ok,
    /// Works now, but needs attention (an expiry ahead, a field never seen).
    Warning,
    /// Something is broken: messages will not go, or events will not come.
    Problem,
}

/// One thing the doctor found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// Which check: `token`, `scopes`, `expiry`, `reauth`, `subscription`, `version`,
    /// `webhook`.
    pub check: &'static str,
    /// What was found.
    pub message: String,
    /// What to do, when something is to be done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

impl Finding {
    fn ok(check: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Ok,
            check,
            message: message.into(),
            action: None,
        }
    }

    fn act(
        severity: Severity,
        check: &'static str,
        message: impl Into<String>,
        action: impl Into<String>,
    ) -> Self {
        Self {
            severity,
            check,
            message: message.into(),
            action: Some(action.into()),
        }
    }
}

/// One page's part of the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageReport {
    /// The space.
    pub space: String,
    /// Its page.
    pub page_id: String,
    /// The token check made for the report.
    pub token: TokenCheck,
    /// The fields the app is subscribed to for the page (`None`: Graph could not say).
    pub subscribed_fields: Option<Vec<String>>,
    /// The fields the space's features need.
    pub needed_fields: Vec<&'static str>,
    /// When each needed field last arrived signed on Meta's webhook, as recorded in the store
    /// by any instance (at most a minute late) or seen by this process; `None` inside: never.
    pub webhook_last_seen: Vec<(String, Option<Timestamp>)>,
    /// What was found, worst first.
    pub findings: Vec<Finding>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// When it was made.
    pub at: Timestamp,
    /// The Graph version configured, and what the doctor says of it.
    pub graph_version: String,
    /// The version findings (once for all pages).
    pub version: Vec<Finding>,
    /// Each space's page.
    pub pages: Vec<PageReport>,
}

impl Report {
    /// The worst severity in the report.
    pub fn worst(&self) -> Severity {
        self.version
            .iter()
            .chain(self.pages.iter().flat_map(|p| &p.findings))
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Ok)
    }

    /// The report as text, one finding a line, each with what to do.
    pub fn render(&self) -> String {
        let mut out = format!("Connection doctor, {}\n", self.at);
        let line = |out: &mut String, f: &Finding| {
            let mark = match f.severity {
                Severity::Ok => "ok     ",
                Severity::Warning => "WARNING",
                Severity::Problem => "PROBLEM",
            };
            out.push_str(&format!("  {mark} {:<12} {}\n", f.check, f.message));
            if let Some(action) = &f.action {
                out.push_str(&format!("          {:<12} -> {action}\n", ""));
            }
        };
        out.push_str(&format!("Graph version {}\n", self.graph_version));
        for f in &self.version {
            line(&mut out, f);
        }
        for page in &self.pages {
            out.push_str(&format!("Space {} (page {})\n", page.space, page.page_id));
            for f in &page.findings {
                line(&mut out, f);
            }
        }
        out
    }
}

/// What the doctor says of the configured Graph `version` at `today` (`YYYY-MM-DD`).
pub fn version_findings(version: &str, today: &str) -> Vec<Finding> {
    let Some(known) = graph_version(version) else {
        return vec![Finding::act(
            Severity::Problem,
            "version",
            format!("{version} is not a Graph version this gateway knows"),
            format!(
                "set facebook.graph_version to {NEWEST_GRAPH_VERSION} or another accepted version"
            ),
        )];
    };
    let mut out = Vec::new();
    match known.available_until {
        Some(until) if until <= today => out.push(Finding::act(
            Severity::Problem,
            "version",
            format!("{version} was served until {until}; Meta answers with its oldest version now"),
            format!("set facebook.graph_version to {NEWEST_GRAPH_VERSION}"),
        )),
        Some(until) if days_between(today, until).is_some_and(|d| d <= 180) => {
            out.push(Finding::act(
                Severity::Warning,
                "version",
                format!("{version} is served until {until}, within 180 days"),
                format!("move facebook.graph_version to {NEWEST_GRAPH_VERSION} before {until}"),
            ))
        }
        _ => {}
    }
    if version == NEWEST_GRAPH_VERSION {
        out.push(Finding::ok(
            "version",
            format!("{version} is the newest version"),
        ));
    } else if out.is_empty() {
        out.push(Finding::ok(
            "version",
            format!(
                "{version} is accepted (served until {}); the newest is {NEWEST_GRAPH_VERSION}",
                known.available_until.unwrap_or("a date Meta has not set")
            ),
        ));
    }
    out
}

/// Days from `a` to `b` (`YYYY-MM-DD` each).
fn days_between(a: &str, b: &str) -> Option<i64> {
    let day = |s: &str| -> Option<i64> {
        let t: Timestamp = format!("{s}T00:00:00Z").parse().ok()?;
        Some(t.millis() / 86_400_000)
    };
    Some(day(b)? - day(a)?)
}

/// The token's findings.
pub(super) fn token_findings(token: &TokenCheck, now: Timestamp) -> Vec<Finding> {
    let mut out = Vec::new();
    match token.state {
        TokenState::Valid => out.push(Finding::ok("token", token.detail.clone())),
        TokenState::Invalid => {
            let problem = token.problem.unwrap_or(messenger_graph::TokenProblem::Invalid);
            out.push(Finding::act(
                Severity::Problem,
                "token",
                format!("the page token does not work ({}): {}", problem.as_str(), problem.describe()),
                problem.remedy(),
            ));
        }
        TokenState::Unknown => out.push(Finding::act(
            Severity::Warning,
            "token",
            format!("the token could not be checked: {}", token.detail),
            "check facebook.graph_base_url, facebook.app_id and facebook.app_secret, and that Graph answers",
        )),
    }
    if let Some(scopes) = &token.scopes {
        for (scope, why) in NEEDED_SCOPES {
            if !scopes.iter().any(|s| s == scope) {
                out.push(Finding::act(
                    Severity::Problem,
                    "scopes",
                    format!("the token lacks {scope}, needed for {why}"),
                    format!("issue a page token from a login that grants {scope} (the app needs it approved in App Review)"),
                ));
            }
        }
        if NEEDED_SCOPES
            .iter()
            .all(|(s, _)| scopes.iter().any(|x| x == s))
        {
            out.push(Finding::ok(
                "scopes",
                format!("granted: {}", scopes.join(", ")),
            ));
        }
    }
    if let Some(expires) = token.expires_at {
        let left = expires.saturating_sub(now.millis() / 1000);
        let days = left / 86_400;
        if left <= 0 {
            // An expired token is reported invalid by Graph already.
        } else if days < 7 {
            out.push(Finding::act(
                Severity::Warning,
                "expiry",
                format!("the token expires in {days} days"),
                "issue a long-lived page token (from a long-lived user token it does not expire) and put it in page_token",
            ));
        } else {
            out.push(Finding::ok(
                "expiry",
                format!("the token expires in {days} days"),
            ));
        }
    } else if token.state == TokenState::Valid && token.scopes.is_some() {
        out.push(Finding::ok("expiry", "the token does not expire"));
    }
    out
}

/// A token of another page than the one configured is a problem: its sends would go out as
/// that page, and Meta's webhook for the configured page would find no sender.
pub(super) fn page_findings(configured: &str, token: &TokenCheck) -> Vec<Finding> {
    match token.page_id.as_deref() {
        Some(page) if page != configured => vec![Finding::act(
            Severity::Problem,
            "token",
            format!("the token is page {page}'s, not the configured page {configured}'s"),
            "put the configured page's token in page_token, or correct page_id",
        )],
        _ => Vec::new(),
    }
}

/// What an instance recorded of the page's token having stopped working (`needs_reauth`, as
/// any instance sharing the database sees it), against the token check made now.
pub(super) fn reauth_findings(
    recorded: Option<&messenger_store::PageReauth>,
    token: &TokenCheck,
) -> Vec<Finding> {
    let Some(r) = recorded else {
        return Vec::new();
    };
    let held = format!(
        "instance {} holds the page's messages since {}: the token stopped working ({}: {})",
        r.instance, r.since, r.problem, r.reason
    );
    if token.state == TokenState::Valid {
        vec![Finding::act(
            Severity::Warning,
            "reauth",
            format!("{held}; the token works now"),
            "nothing: the waiting instances send again at their next token check (within a \
             minute); a reload (SIGHUP or POST /ops/reload) sends at once",
        )]
    } else {
        vec![Finding::act(
            Severity::Problem,
            "reauth",
            held,
            "put a new page token in page_token and reload every instance (SIGHUP or POST \
             /ops/reload): the waiting messages go out at once",
        )]
    }
}

/// The subscription's findings: each needed field missing is a problem.
pub(super) fn subscription_findings(
    page_id: &str,
    subscribed: Option<&[String]>,
    needed: &[&'static str],
    error: Option<&str>,
) -> Vec<Finding> {
    let Some(subscribed) = subscribed else {
        return vec![Finding::act(
            Severity::Warning,
            "subscription",
            format!(
                "Graph did not list the app's subscription to the page: {}",
                error.unwrap_or("no answer")
            ),
            "check the page token (it needs pages_manage_metadata) and run the doctor again",
        )];
    };
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|f| !subscribed.iter().any(|s| s == f))
        .collect();
    if subscribed.is_empty() {
        return vec![Finding::act(
            Severity::Problem,
            "subscription",
            format!("the app is not subscribed to page {page_id}: Meta sends it no webhook"),
            "run messenger-gateway subscribe --config FILE",
        )];
    }
    if missing.is_empty() {
        vec![Finding::ok(
            "subscription",
            format!("subscribed to every field needed: {}", needed.join(", ")),
        )]
    } else {
        vec![Finding::act(
            Severity::Problem,
            "subscription",
            format!("the app is not subscribed to {}", missing.join(", ")),
            "run messenger-gateway subscribe --config FILE (it posts every field the configuration needs)",
        )]
    }
}

/// Why Meta may never have called the webhook for a page, and what to do about each: Graph
/// offers no way to read the app's mode, so development mode is named as a likely cause rather
/// than checked.
pub const NO_WEBHOOK_CAUSES: &[(&str, &str)] = &[
    (
        "the app is in development mode",
        "in development mode Meta calls the webhook only for people with a role on the app: send \
         the page a message from an admin, developer or tester of the app, or switch the app to \
         Live in the App Dashboard (pages_messaging needs Advanced Access)",
    ),
    (
        "the app is not subscribed to the page's fields",
        "run messenger-gateway subscribe --config FILE",
    ),
    (
        "the callback URL is not this gateway",
        "in the App Dashboard (Messenger, Webhooks) set the callback URL to this gateway's \
         public HTTPS /webhooks/facebook with facebook.verify_token as the verify token",
    ),
    (
        "the deliveries are signed with another app's secret",
        "set facebook.app_secret to the secret of the app subscribed to the page (a body \
         whose signature does not check is refused with 403 and never recorded)",
    ),
];

/// The webhook's findings: a needed field never seen is noted (Meta may simply have had
/// nothing to send); a page with nothing seen at all is a warning naming the likely causes,
/// the one the subscription shows first, each with what to do. `store_error`: the store did
/// not answer, so only this process's own deliveries were looked at.
pub(super) fn webhook_findings(
    seen: &[(String, Option<Timestamp>)],
    subscribed: Option<&[String]>,
    needed: &[&'static str],
    store_error: Option<&str>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(e) = store_error {
        out.push(Finding::act(
            Severity::Warning,
            "webhook",
            format!(
                "the deliveries other instances recorded could not be read ({e}); only this \
                 process's are shown"
            ),
            "check database.url and that the database answers",
        ));
    }
    if seen.iter().all(|(_, at)| at.is_none()) {
        let unsubscribed =
            subscribed.is_some_and(|s| needed.iter().any(|f| !s.iter().any(|x| x == f)));
        let causes: Vec<String> = NO_WEBHOOK_CAUSES
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1 || subscribed.is_none() || unsubscribed)
            .map(|(_, (cause, action))| format!("{cause}: {action}"))
            .collect();
        let mut causes = causes;
        if unsubscribed {
            // What the subscription shows comes first.
            let i = causes
                .iter()
                .position(|c| c.starts_with(NO_WEBHOOK_CAUSES[1].0))
                .unwrap_or(0);
            let first = causes.remove(i);
            causes.insert(0, first);
        }
        out.push(Finding::act(
            Severity::Warning,
            "webhook",
            "no signed delivery of Meta's webhook recorded for this page (by any instance \
             sharing the database): Meta may not be calling the webhook",
            format!("likely causes, most likely first; {}", causes.join("; ")),
        ));
        return out;
    }
    let last: Vec<String> = seen
        .iter()
        .map(|(f, at)| match at {
            Some(at) => format!("{f} {at}"),
            None => format!("{f} never"),
        })
        .collect();
    out.push(Finding::ok(
        "webhook",
        format!("last signed deliveries: {}", last.join(", ")),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_near_or_past_their_end_are_findings() {
        assert_eq!(
            version_findings("v27.0", "2026-12-06")[0].severity,
            Severity::Ok
        );
        assert_eq!(
            version_findings("v26.0", "2026-12-06")[0].severity,
            Severity::Ok
        );
        let near = version_findings("v21.0", "2026-12-06");
        assert_eq!(near[0].severity, Severity::Warning, "{near:?}");
        let past = version_findings("v21.0", "2027-02-01");
        assert_eq!(past[0].severity, Severity::Problem);
        assert_eq!(
            version_findings("v12.0", "2026-12-06")[0].severity,
            Severity::Problem
        );
    }

    #[test]
    fn a_token_of_another_page_is_a_problem() {
        let check = TokenCheck {
            at: Timestamp::from_millis(0),
            state: TokenState::Valid,
            problem: None,
            expires_at: None,
            scopes: None,
            page_id: Some("2".into()),
            detail: String::new(),
        };
        assert_eq!(page_findings("1", &check)[0].severity, Severity::Problem);
        assert!(page_findings("2", &check).is_empty());
    }

    #[test]
    fn a_missing_field_is_named_with_what_to_do() {
        let subscribed = vec!["messages".to_owned()];
        let f = subscription_findings(
            "1",
            Some(&subscribed),
            &["messages", "message_echoes"],
            None,
        );
        assert_eq!(f[0].severity, Severity::Problem);
        assert!(f[0].message.contains("message_echoes"));
        assert!(f[0].action.as_deref().unwrap().contains("subscribe"));
    }

    #[test]
    fn a_page_an_instance_holds_is_named_with_what_to_do() {
        let mut check = TokenCheck {
            at: Timestamp::from_millis(0),
            state: TokenState::Invalid,
            problem: None,
            expires_at: None,
            scopes: None,
            page_id: None,
            detail: String::new(),
        };
        assert!(reauth_findings(None, &check).is_empty());
        let r = messenger_store::PageReauth {
            page_id: "1".into(),
            problem: "password_changed".into(),
            reason: "Error validating access token".into(),
            since: Timestamp::from_millis(0),
            instance: "gw-a".into(),
        };
        let f = reauth_findings(Some(&r), &check);
        assert_eq!(f[0].severity, Severity::Problem);
        assert!(f[0].message.contains("gw-a"), "{}", f[0].message);
        assert!(
            f[0].message.contains("password_changed"),
            "{}",
            f[0].message
        );
        assert!(f[0].action.as_deref().unwrap().contains("page_token"));
        check.state = TokenState::Valid;
        let f = reauth_findings(Some(&r), &check);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].message.contains("works now"), "{}", f[0].message);
    }

    #[test]
    fn a_page_never_called_names_the_likely_causes() {
        let never = vec![("messages".to_owned(), None)];
        let all = vec!["messages".to_owned()];
        let f = webhook_findings(&never, Some(&all), &["messages"], None);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        let action = f[0].action.as_deref().unwrap();
        assert!(action.contains("development mode"), "{action}");
        assert!(action.contains("callback URL"), "{action}");
        // Subscribed to every field: the subscription is not named as a cause.
        assert!(!action.contains("subscribe --config"), "{action}");

        // A field missing from the subscription is named first.
        let some = vec!["message_echoes".to_owned()];
        let f = webhook_findings(&never, Some(&some), &["messages"], None);
        let action = f[0].action.as_deref().unwrap();
        let sub = action.find("not subscribed").unwrap();
        assert!(sub < action.find("development mode").unwrap(), "{action}");

        // A delivery seen: ok, naming each field.
        let at = Timestamp::from_millis(0);
        let seen = vec![
            ("messages".to_owned(), Some(at)),
            ("standby".to_owned(), None),
        ];
        let f = webhook_findings(&seen, None, &["messages", "standby"], Some("down"));
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].message.contains("down"));
        assert_eq!(f[1].severity, Severity::Ok);
        assert!(f[1].message.contains("standby never"), "{}", f[1].message);
    }
}
