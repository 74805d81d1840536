//! Graph's rate-limit usage headers (`X-App-Usage`, `X-Page-Usage`,
//! `X-Business-Use-Case-Usage`), parsed into [`Usage`].
//!
//! Meta adds these headers to most answers once an app has made enough calls. Every figure is a
//! percentage of the allowance; at 100 Graph starts refusing calls (codes 4, 17, 32, 613,
//! 80001-80014) until the usage drops. A dispatcher reads [`Usage::max_percent`] to slow down
//! before that happens, and [`Usage::regain_access_after`] to know how long a block lasts.
//!
//! Malformed headers are ignored: usage is a hint, never a reason to fail a call.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

/// `X-App-Usage`: the app's platform rate limit.
pub const APP_USAGE_HEADER: &str = "x-app-usage";
/// `X-Page-Usage`: the page's platform rate limit.
pub const PAGE_USAGE_HEADER: &str = "x-page-usage";
/// `X-Business-Use-Case-Usage`: business use case (BUC) rate limits, per business object.
pub const BUSINESS_USE_CASE_USAGE_HEADER: &str = "x-business-use-case-usage";

/// One set of usage figures, each a percentage of the allowance (0-100, may exceed 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UsageFigures {
    /// Calls made in the window, in percent of the allowed calls.
    pub call_count: u32,
    /// CPU time used, in percent of the allowance.
    pub total_cputime: u32,
    /// Total time used, in percent of the allowance.
    pub total_time: u32,
    /// Minutes until calls are allowed again, when Graph says (0 or absent: not blocked).
    pub estimated_time_to_regain_access: Option<u32>,
}

impl UsageFigures {
    /// The highest of the three percentages.
    pub fn max_percent(&self) -> u32 {
        self.call_count.max(self.total_cputime).max(self.total_time)
    }

    /// [`UsageFigures::estimated_time_to_regain_access`] as a duration, when above zero.
    pub fn regain_access_after(&self) -> Option<Duration> {
        match self.estimated_time_to_regain_access {
            Some(minutes) if minutes > 0 => Some(Duration::from_secs(u64::from(minutes) * 60)),
            _ => None,
        }
    }

    /// Reads the figures from one JSON object; `None` when it has none of the known fields.
    fn from_object(obj: &Map<String, Value>) -> Option<Self> {
        let field = |name: &str| obj.get(name).and_then(percent);
        let call_count = field("call_count");
        let total_cputime = field("total_cputime");
        let total_time = field("total_time");
        let regain = field("estimated_time_to_regain_access");
        if call_count.is_none()
            && total_cputime.is_none()
            && total_time.is_none()
            && regain.is_none()
        {
            return None;
        }
        Some(Self {
            call_count: call_count.unwrap_or(0),
            total_cputime: total_cputime.unwrap_or(0),
            total_time: total_time.unwrap_or(0),
            estimated_time_to_regain_access: regain,
        })
    }
}

/// A business use case's usage, from `X-Business-Use-Case-Usage`
/// (`{"<business object id>": [{"type": "messenger", "call_count": 12, ...}]}`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BusinessUseCaseUsage {
    /// The business object (usually the page) the limit applies to.
    pub id: String,
    /// The use case (`type`): `messenger`, `pages`, ...
    pub use_case: String,
    /// The figures.
    pub figures: UsageFigures,
}

/// Rate-limit usage reported by Graph on one answer.
///
/// ```
/// use messenger_graph::Usage;
/// let usage = Usage::from_header_values(
///     Some(r#"{"call_count":28,"total_cputime":25,"total_time":25}"#),
///     None,
///     Some(r#"{"1234":[{"type":"messenger","call_count":91,"total_cputime":5,"total_time":5,"estimated_time_to_regain_access":0}]}"#),
/// )
/// .unwrap();
/// assert_eq!(usage.max_percent(), 91);
/// assert_eq!(usage.regain_access_after(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Usage {
    /// `X-App-Usage`.
    pub app: Option<UsageFigures>,
    /// `X-Page-Usage` (when Graph gives it per object, the most used one).
    pub page: Option<UsageFigures>,
    /// `X-Business-Use-Case-Usage`, one entry per business object and use case.
    pub business_use_cases: Vec<BusinessUseCaseUsage>,
}

impl Usage {
    /// Reads the usage headers of an answer; `None` when none is present or none parses.
    /// (Public callers use [`Usage::from_header_values`], which takes no HTTP client's type.)
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let app = get(APP_USAGE_HEADER);
        let page = get(PAGE_USAGE_HEADER);
        let business = get(BUSINESS_USE_CASE_USAGE_HEADER);
        if app.is_none() && page.is_none() && business.is_none() {
            return None;
        }
        Self::from_header_values(app, page, business)
    }

    /// Parses the three header values (JSON strings); `None` when none parses.
    ///
    /// `X-App-Usage` is a flat object. `X-Page-Usage` may be flat or, like
    /// `X-Business-Use-Case-Usage`, a map from object id to a list of entries.
    pub fn from_header_values(
        app: Option<&str>,
        page: Option<&str>,
        business: Option<&str>,
    ) -> Option<Self> {
        let app = app.and_then(parse_object).and_then(|o| flat_or_nested(&o));
        let page = page.and_then(parse_object).and_then(|o| flat_or_nested(&o));
        let business_use_cases = business
            .and_then(parse_object)
            .map(|o| business_entries(&o))
            .unwrap_or_default();
        let usage = Self {
            app,
            page,
            business_use_cases,
        };
        if usage.is_empty() {
            None
        } else {
            Some(usage)
        }
    }

    /// Whether no figures were reported.
    pub fn is_empty(&self) -> bool {
        self.app.is_none() && self.page.is_none() && self.business_use_cases.is_empty()
    }

    /// Every set of figures reported (app, page, then each business use case).
    pub fn figures(&self) -> impl Iterator<Item = &UsageFigures> + '_ {
        self.app
            .iter()
            .chain(self.page.iter())
            .chain(self.business_use_cases.iter().map(|b| &b.figures))
    }

    /// The highest percentage of any limit: slow down as it nears 100 (Graph refuses calls at
    /// 100). 0 when nothing was reported.
    pub fn max_percent(&self) -> u32 {
        self.figures()
            .map(UsageFigures::max_percent)
            .max()
            .unwrap_or(0)
    }

    /// How long until access is regained, the longest any limit reports; `None` when no limit
    /// says it is blocked.
    pub fn regain_access_after(&self) -> Option<Duration> {
        self.figures()
            .filter_map(UsageFigures::regain_access_after)
            .max()
    }
}

fn parse_object(raw: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// A flat figures object, or the most used entry of a `{id: [entries]}` map.
fn flat_or_nested(obj: &Map<String, Value>) -> Option<UsageFigures> {
    UsageFigures::from_object(obj).or_else(|| {
        business_entries(obj)
            .into_iter()
            .map(|b| b.figures)
            .max_by_key(|f| (f.max_percent(), f.estimated_time_to_regain_access))
    })
}

fn business_entries(obj: &Map<String, Value>) -> Vec<BusinessUseCaseUsage> {
    let mut out = Vec::new();
    for (id, entries) in obj {
        let list: &[Value] = match entries {
            Value::Array(list) => list,
            single @ Value::Object(_) => std::slice::from_ref(single),
            _ => continue,
        };
        for entry in list {
            let Value::Object(fields) = entry else {
                continue;
            };
            let Some(figures) = UsageFigures::from_object(fields) else {
                continue;
            };
            out.push(BusinessUseCaseUsage {
                id: id.clone(),
                use_case: fields
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                figures,
            });
        }
    }
    out
}

/// A non-negative number (integer, float or numeric string), rounded, saturating at `u32::MAX`.
fn percent(v: &Value) -> Option<u32> {
    let f = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !f.is_finite() || f < 0.0 {
        return None;
    }
    let rounded = f.round();
    Some(if rounded >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        rounded as u32
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn app_usage_flat() {
        let u = Usage::from_header_values(
            Some(r#"{"call_count":28,"total_time":25,"total_cputime":30}"#),
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            u.app,
            Some(UsageFigures {
                call_count: 28,
                total_cputime: 30,
                total_time: 25,
                estimated_time_to_regain_access: None
            })
        );
        assert_eq!(u.max_percent(), 30);
        assert_eq!(u.regain_access_after(), None);
    }

    #[test]
    fn business_use_case_map_with_regain_time() {
        let raw = r#"{"111":[{"type":"messenger","call_count":100,"total_cputime":10,"total_time":12,"estimated_time_to_regain_access":7}],
                      "222":[{"type":"pages","call_count":3,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0}]}"#;
        let u = Usage::from_header_values(None, None, Some(raw)).unwrap();
        assert_eq!(u.business_use_cases.len(), 2);
        let messenger = &u.business_use_cases[0];
        assert_eq!(messenger.id, "111");
        assert_eq!(messenger.use_case, "messenger");
        assert_eq!(u.max_percent(), 100);
        assert_eq!(u.regain_access_after(), Some(Duration::from_secs(7 * 60)));
    }

    #[test]
    fn page_usage_flat_or_nested() {
        let flat = Usage::from_header_values(
            None,
            Some(r#"{"call_count":50,"total_cputime":1,"total_time":2,"estimated_time_to_regain_access":3}"#),
            None,
        )
        .unwrap();
        assert_eq!(flat.page.unwrap().call_count, 50);
        assert_eq!(flat.regain_access_after(), Some(Duration::from_secs(180)));
        let nested = Usage::from_header_values(
            None,
            Some(r#"{"9":[{"type":"pages","call_count":5,"total_cputime":80,"total_time":2}]}"#),
            None,
        )
        .unwrap();
        assert_eq!(nested.page.unwrap().total_cputime, 80);
    }

    #[test]
    fn malformed_headers_are_ignored() {
        assert_eq!(
            Usage::from_header_values(Some("nope"), Some("[]"), Some("{\"x\":3}")),
            None
        );
        assert_eq!(Usage::from_header_values(None, None, None), None);
        let u = Usage::from_header_values(
            Some(r#"{"call_count":-4,"total_time":"12","total_cputime":1e12}"#),
            None,
            None,
        )
        .unwrap();
        let app = u.app.unwrap();
        assert_eq!(app.call_count, 0);
        assert_eq!(app.total_time, 12);
        assert_eq!(app.total_cputime, u32::MAX);
    }

    #[test]
    fn from_headers_reads_header_map() {
        let mut h = HeaderMap::new();
        assert_eq!(Usage::from_headers(&h), None);
        h.insert(
            "X-App-Usage",
            HeaderValue::from_static(r#"{"call_count":81,"total_cputime":0,"total_time":0}"#),
        );
        assert_eq!(Usage::from_headers(&h).unwrap().max_percent(), 81);
    }
}
