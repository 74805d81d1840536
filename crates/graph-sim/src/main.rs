//! `graph-sim`: runs the Graph API (and Twilio Messages API) simulator until Ctrl-C.
//!
//! ```text
//! graph-sim --listen 127.0.0.1:9999 --page PAGE_ID:TOKEN --app-secret S \
//!           --webhook-url http://127.0.0.1:8080/webhooks/facebook
//! ```
//!
//! Instagram: `--instagram-page ACCOUNT_ID:PAGE_ID` links an account to a page (Facebook Login);
//! `--instagram-login ACCOUNT_ID:TOKEN:APP_SECRET:APP_SCOPED_ID:USERNAME` adds an account with its
//! own token, served by the Instagram host `--instagram-listen 127.0.0.1:9998` (Instagram Login).
//!
//! Script it with the control API under `/_sim/` (see the library's `control` module), e.g.
//! `curl -XPOST localhost:9999/_sim/inbound -d '{"page_id":"P","psid":"123","text":"hi"}'
//! -H 'content-type: application/json'`.
//!
//! For tests, the demo and benchmarks only; never part of a production deployment.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use graph_sim::{AutoReceipts, GraphSim, InstagramLogin, InstagramShape};

/// Simulates Meta's Graph API (Send API, attachment upload, user profiles, signed webhooks) and
/// Twilio's Messages API on one HTTP port. Never use it in production.
#[derive(Debug, Parser)]
#[command(name = "graph-sim", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9999")]
    listen: SocketAddr,
    /// A page and its access token, as PAGE_ID:TOKEN (repeat for several pages).
    #[arg(long = "page", value_parser = parse_pair)]
    pages: Vec<(String, String)>,
    /// The app secret: calls must then carry appsecret_proof, and webhooks are signed with it.
    #[arg(long)]
    app_secret: Option<String>,
    /// The app's id (`debug_token` is asked with `{app id}|{app secret}`).
    #[arg(long)]
    app_id: Option<String>,
    /// Where Meta-side events (receipts) are posted.
    #[arg(long)]
    webhook_url: Option<String>,
    /// A Twilio account for the SMS API, as ACCOUNT_SID:AUTH_TOKEN (repeatable).
    #[arg(long = "sms-account", value_parser = parse_pair)]
    sms_accounts: Vec<(String, String)>,
    /// Post a delivery receipt this many milliseconds after each successful send.
    #[arg(long)]
    delivery_after_ms: Option<u64>,
    /// Post message echoes (with the send's metadata) after each send, as Meta does.
    #[arg(long)]
    echoes: bool,
    /// Post a read receipt this many milliseconds after each successful send.
    #[arg(long)]
    read_after_ms: Option<u64>,
    /// Do not keep requests and sent messages in memory (for long benchmark runs).
    #[arg(long)]
    no_record: bool,
    /// Refuse sends outside Meta's messaging window (24 h; 7 days with HUMAN_AGENT).
    #[arg(long)]
    enforce_window: bool,
    /// The message tags Graph accepts, comma-separated (default: Meta's list as of 2026).
    #[arg(long, value_delimiter = ',')]
    accepted_tags: Option<Vec<String>>,
    /// Also serve graph.instagram.com (Instagram Login) on this address.
    #[arg(long)]
    instagram_listen: Option<SocketAddr>,
    /// An Instagram account linked to a configured page, as ACCOUNT_ID:PAGE_ID (repeatable).
    #[arg(long = "instagram-page", value_parser = parse_pair)]
    instagram_pages: Vec<(String, String)>,
    /// An Instagram Login account, as ACCOUNT_ID:TOKEN:APP_SECRET:APP_SCOPED_ID:USERNAME
    /// (repeatable).
    #[arg(long = "instagram-login", value_parser = parse_instagram_login)]
    instagram_logins: Vec<(String, InstagramLogin)>,
    /// Post Instagram direct-message events in `changes[]` rather than `messaging[]`.
    #[arg(long)]
    instagram_changes: bool,
    /// Do not enforce Instagram's window (24 h; 7 days with HUMAN_AGENT).
    #[arg(long)]
    no_instagram_window: bool,
}

/// Parses `ACCOUNT_ID:TOKEN:APP_SECRET:APP_SCOPED_ID:USERNAME`.
fn parse_instagram_login(s: &str) -> Result<(String, InstagramLogin), String> {
    let parts: Vec<&str> = s.split(':').collect();
    match parts.as_slice() {
        [account, token, secret, scoped, username] if parts.iter().all(|p| !p.is_empty()) => Ok((
            (*account).to_owned(),
            InstagramLogin::instagram(*token, *secret, *scoped, *username),
        )),
        _ => Err("expected ACCOUNT_ID:TOKEN:APP_SECRET:APP_SCOPED_ID:USERNAME".to_owned()),
    }
}

/// Parses `LEFT:RIGHT` (split at the first colon).
fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a.to_owned(), b.to_owned())),
        _ => Err("expected ID:SECRET".to_owned()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("graph_sim=info")),
        )
        .init();
    let args = Args::parse();

    let mut builder = GraphSim::builder()
        .bind(args.listen)
        .record_requests(!args.no_record)
        .enforce_window(args.enforce_window);
    if let Some(tags) = &args.accepted_tags {
        builder = builder.accepted_tags(tags.iter().map(String::as_str));
    }
    for (page, token) in &args.pages {
        builder = builder.page(page, token);
    }
    for (sid, token) in &args.sms_accounts {
        builder = builder.sms_account(sid, token);
    }
    if let Some(secret) = &args.app_secret {
        builder = builder.app_secret(secret);
    }
    if let Some(id) = &args.app_id {
        builder = builder.app_id(id);
    }
    if let Some(url) = &args.webhook_url {
        builder = builder.webhook_url(url);
    }
    builder = builder.echoes(args.echoes);
    for (account, page) in &args.instagram_pages {
        builder = builder.instagram_account(account, InstagramLogin::Page(page.clone()));
    }
    for (account, login) in &args.instagram_logins {
        builder = builder.instagram_account(account, login.clone());
    }
    if let Some(addr) = args.instagram_listen {
        builder = builder.instagram_bind(addr);
    }
    if args.instagram_changes {
        builder = builder.instagram_shape(InstagramShape::Changes);
    }
    builder = builder.instagram_window(!args.no_instagram_window);
    if args.delivery_after_ms.is_some() || args.read_after_ms.is_some() {
        builder = builder.auto_receipts(AutoReceipts {
            delivery: args.delivery_after_ms.map(Duration::from_millis),
            read: args.read_after_ms.map(Duration::from_millis),
        });
    }

    let sim = match builder.start().await {
        Ok(sim) => sim,
        Err(e) => {
            tracing::error!(error = %e, "graph-sim could not start");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        base_url = sim.base_url(),
        instagram_url = sim.instagram_url(),
        pages = ?args.pages.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        "graph-sim ready; Ctrl-C to stop"
    );
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::error!(error = %e, "cannot wait for Ctrl-C");
    }
    tracing::info!(sent = sim.sent_count(), "graph-sim stopping");
    sim.shutdown().await;
    ExitCode::SUCCESS
}
