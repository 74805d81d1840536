//! A store that cannot serve now, as the API answers it: 503 `/problems/unavailable` naming the
//! cause, with `Retry-After` (decision 0018).

use super::problem::Problem;

impl Problem {
    /// A 503 for a store that cannot serve now (decision 0018): the detail names the cause (a
    /// full disk, an unreachable database: words of the store's own, never a path or a URL),
    /// with `Retry-After` from the cause (5 s when the store names none) and the cause's name as
    /// `cause`.
    pub fn store_unavailable(e: &messenger_store::StoreError) -> Self {
        Self::store_outage(e, "the store is unavailable", |cause, wait| {
            format!("the store cannot serve this now ({cause}); retry in {wait} s")
        })
    }

    /// [`Problem::store_unavailable`] with its own detail, made from the cause's words (or
    /// `unnamed` when the error names none) and the seconds of `Retry-After`.
    pub(crate) fn store_outage(
        e: &messenger_store::StoreError,
        unnamed: &str,
        detail: impl FnOnce(&str, u64) -> String,
    ) -> Self {
        let outage = messenger_store_sql::Outage::of(e);
        let cause = outage.map_or(unnamed, |o| o.describe());
        let wait = outage.map_or(5, |o| o.retry_after().as_secs());
        let problem = Self::unavailable(detail(cause, wait))
            .with_retry_after(u32::try_from(wait).unwrap_or(u32::MAX));
        match outage {
            Some(outage) => problem.with_extension("cause", outage.as_str()),
            None => problem,
        }
    }
}
