//! The facade's spaces made from the configuration: each page's Graph client, its Instagram
//! accounts, its SMS provider and policies (at start, and again at each reload).

use std::sync::Arc;

use messenger::sms::TwilioSms;
use messenger::{InstagramAccount, InstagramLogin, Space};
use messenger_graph::{GraphClient, Transport};
use messenger_store::Pace;

use crate::config::{Secret, SmsProviderKind, SpaceConfig};
use crate::GatewayError;

/// The facade's space for the configured space `s`: its page's Graph client made from `base`,
/// and its Instagram accounts (through the page, or Instagram Login clients of `base` whose
/// webhooks are signed with `instagram_app_secret`).
pub(crate) fn build_space(
    s: &SpaceConfig,
    base: &GraphClient,
    instagram_app_secret: Option<&Secret>,
) -> Result<Space, GatewayError> {
    let graph = |source| GatewayError::Graph {
        space: s.id.clone(),
        source,
    };
    let page: Arc<dyn Transport> = Arc::new(base.for_page(s.page_token.expose()).map_err(graph)?);
    let mut space = Space::new(s.id.clone(), s.page_id.clone(), Arc::clone(&page))
        .customer_matching(s.customer_matching)
        .window_check(s.window_check)
        .send_rates(
            Pace::per_second(s.send_rate),
            Pace::per_second(s.media_send_rate),
        );
    if let Some(after) = s.fallback_on_outage {
        space = space.fallback_on_outage(after);
    }
    if let Some(sms) = &s.sms {
        let provider = match sms.provider {
            SmsProviderKind::Twilio => TwilioSms::new(
                &sms.base_url,
                sms.account_sid.clone(),
                sms.auth_token.expose(),
                sms.from.clone(),
            )
            .map_err(|source| GatewayError::Sms {
                space: s.id.clone(),
                source,
            })?,
        };
        space = space.sms(Arc::new(provider), sms.from.clone());
    }
    for a in &s.instagram {
        let account = match (&a.token, instagram_app_secret) {
            (Some(token), secret) => {
                let account =
                    InstagramAccount::instagram_login(a.account_id.clone(), base, token.expose())
                        .map_err(graph)?;
                match secret {
                    Some(secret) => account.app_secret(secret.expose()),
                    None => account,
                }
            }
            (None, _) => InstagramAccount::new(
                a.account_id.clone(),
                InstagramLogin::Facebook,
                Arc::clone(&page),
            ),
        };
        space = space.connect_instagram(
            account
                .send_rates(
                    Pace::per_second(a.send_rate),
                    Pace::per_second(a.media_send_rate),
                )
                .private_replies_per_hour(a.private_replies_per_hour),
        );
    }
    // Without a webhook, no event is queued: nobody would ever take it off the outbox.
    Ok(space.subscriptions(
        s.webhook
            .as_ref()
            .map(|w| w.subscriptions.clone())
            .unwrap_or_default(),
    ))
}
