//! The facade's spaces made from the configuration: each page's Graph client, its SMS provider
//! and policies (at start, and again at each reload).

use std::sync::Arc;

use messenger::sms::TwilioSms;
use messenger::Space;
use messenger_graph::GraphClient;
use messenger_store::Pace;

use crate::config::{SmsProviderKind, SpaceConfig};
use crate::GatewayError;

/// The facade's space for the configured space `s`, its page's Graph client made from `base`.
pub(crate) fn build_space(s: &SpaceConfig, base: &GraphClient) -> Result<Space, GatewayError> {
    let client = base
        .for_page(s.page_token.expose())
        .map_err(|source| GatewayError::Graph {
            space: s.id.clone(),
            source,
        })?;
    let mut space = Space::new(s.id.clone(), s.page_id.clone(), Arc::new(client))
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
    // Without a webhook, no event is queued: nobody would ever take it off the outbox.
    Ok(space.subscriptions(
        s.webhook
            .as_ref()
            .map(|w| w.subscriptions.clone())
            .unwrap_or_default(),
    ))
}
