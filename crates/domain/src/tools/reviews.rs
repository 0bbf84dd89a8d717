//! Product reviews of the multi-tenant `ProductReviews` table (`product_id` N hash,
//! `review_id` S range), read only through the `tenant_id-product_id-index` GSI so
//! every read is bounded to one tenant's partition: no Scan.

use crate::error::PortError;
use crate::paging::CursorSigner;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ToolError, ToolErrorCode};

pub const GET_PRODUCT_REVIEWS: &str = "get_product_reviews";
pub const SEARCH_REVIEWS: &str = "search_reviews";
pub const TENANT_INDEX: &str = "tenant_id-product_id-index";
pub const DEFAULT_LIMIT: i64 = 10;
pub const MAX_LIMIT: i64 = 50;
pub const MAX_TENANT_ID_LEN: usize = 128;

/// A review as the agent sees it. `tenant_id` and `customer_email` stay in the table:
/// the first is the caller's own, the second is personal data the agent has no use for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub product_id: i64,
    pub review_id: String,
    #[serde(skip_serializing)]
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// A number in one data model, a `CUST###` string in the other: passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<serde_json::Value>,
    pub rating: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub review_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helpful_votes: Option<i64>,
    #[serde(default)]
    pub verified_purchase: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
}

impl Review {
    pub fn key(&self) -> ReviewKey {
        ReviewKey {
            tenant_id: self.tenant_id.clone(),
            product_id: self.product_id,
            review_id: self.review_id.clone(),
        }
    }
}

/// The GSI position of one item: index key plus table key, exactly what DynamoDB
/// returns as `LastEvaluatedKey` and accepts as `ExclusiveStartKey`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewKey {
    pub tenant_id: String,
    pub product_id: i64,
    pub review_id: String,
}

pub use crate::dates::{parse_end, parse_start};

/// A stored `review_date`: RFC 3339 (the seeds' `2024-12-01T15:30:00Z`) or a bare date.
pub fn parse_review_date(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(NaiveTime::MIN).and_utc())
        })
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewFilter {
    pub min_rating: Option<i64>,
    pub max_rating: Option<i64>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub verified_only: bool,
}

impl ReviewFilter {
    /// DynamoDB compares `review_date` as a string, so the FilterExpression uses
    /// whole-day bounds (a superset, whatever the stored format); this check, on the
    /// parsed instant, is the exact one.
    pub fn matches_date(&self, review_date: &str) -> bool {
        if self.start.is_none() && self.end.is_none() {
            return true;
        }
        let Some(at) = parse_review_date(review_date) else {
            return false;
        };
        self.start.is_none_or(|s| at >= s) && self.end.is_none_or(|e| at <= e)
    }

    pub fn matches(&self, r: &Review) -> bool {
        self.min_rating.is_none_or(|m| r.rating >= m)
            && self.max_rating.is_none_or(|m| r.rating <= m)
            && (!self.verified_only || r.verified_purchase)
            && self.matches_date(&r.review_date)
    }

    /// `review_date >= coarse_start` (first day, as `YYYY-MM-DD`).
    pub fn coarse_start(&self) -> Option<String> {
        self.start.map(|s| s.date_naive().format("%Y-%m-%d").to_string())
    }

    /// `review_date < coarse_end_exclusive` (the day after the last day).
    pub fn coarse_end_exclusive(&self) -> Option<String> {
        self.end.map(|e| {
            let next = e.date_naive().succ_opt().unwrap_or(e.date_naive());
            next.format("%Y-%m-%d").to_string()
        })
    }

    fn canonical(&self) -> String {
        format!(
            "min={:?};max={:?};start={:?};end={:?};verified={}",
            self.min_rating,
            self.max_rating,
            self.start.map(|t| t.to_rfc3339()),
            self.end.map(|t| t.to_rfc3339()),
            self.verified_only
        )
    }
}

/// One query of the GSI: a tenant, optionally one product, and the filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewQuery {
    pub tenant_id: String,
    pub product_id: Option<i64>,
    pub filter: ReviewFilter,
}

impl ReviewQuery {
    /// What a `next_token` is bound to: the tool, the tenant and the filters (not the
    /// page size, which may change between pages).
    pub fn fingerprint(&self, tool: &str) -> String {
        format!(
            "tool={tool};tenant={};product={:?};{}",
            self.tenant_id,
            self.product_id,
            self.filter.canonical()
        )
    }
}

/// One Query page: the items that passed the FilterExpression, in index order, and
/// where DynamoDB stopped reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewPage {
    pub items: Vec<Review>,
    pub last_evaluated: Option<ReviewKey>,
}

/// The rating and date of one matching review, for the summary.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RatingSample {
    pub rating: i64,
    pub review_date: String,
}

#[async_trait]
pub trait ReviewIndex: Send + Sync {
    /// One page of the GSI query, reading at most `page_size` items before filtering
    /// (DynamoDB's `Limit`), starting after `start_after`.
    async fn query_page(
        &self,
        query: &ReviewQuery,
        start_after: Option<&ReviewKey>,
        page_size: i32,
    ) -> Result<ReviewPage, PortError>;

    /// Rating and date of the reviews passing the query's FilterExpression, in index
    /// order, reading (evaluating, before the filter) at most `max_read` items: the
    /// summary's cost is bounded whatever the tenant's size.
    async fn ratings(&self, query: &ReviewQuery, max_read: usize) -> Result<Ratings, PortError>;
}

/// What [`ReviewIndex::ratings`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ratings {
    pub samples: Vec<RatingSample>,
    /// False when the read stopped at `max_read` with items left: the summary then
    /// covers only the reviews read.
    pub complete: bool,
}

/// The MAC domain of review tokens (unchanged since the signer became shared, so the
/// tokens stay byte-for-byte what they were).
const TOKEN_PURPOSE: &str = "reviews-next-token-v1";

/// `next_token`: the resume position, HMAC-signed together with the tenant and the
/// query it belongs to, so a token is useless for another tenant or other filters and
/// cannot be forged to point into another tenant's partition.
#[derive(Clone)]
pub struct TokenSigner {
    signer: CursorSigner,
}

#[derive(Serialize, Deserialize)]
struct TokenPayload {
    p: i64,
    r: String,
}

impl TokenSigner {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        TokenSigner {
            signer: CursorSigner::new(secret),
        }
    }

    pub fn mint(&self, tool: &str, query: &ReviewQuery, key: &ReviewKey) -> Result<String, PortError> {
        let payload = TokenPayload {
            p: key.product_id,
            r: key.review_id.clone(),
        };
        self.signer
            .seal(TOKEN_PURPOSE, &query.fingerprint(tool), &payload)
    }

    /// The position a token resumes after, if it was minted for exactly this query.
    pub fn open(
        &self,
        tool: &str,
        query: &ReviewQuery,
        token: &str,
    ) -> Result<Result<ReviewKey, ToolError>, PortError> {
        let payload: Option<TokenPayload> =
            self.signer.open(TOKEN_PURPOSE, &query.fingerprint(tool), token)?;
        Ok(match payload {
            Some(p) if query.product_id.is_none_or(|id| id == p.p) => Ok(ReviewKey {
                tenant_id: query.tenant_id.clone(),
                product_id: p.p,
                review_id: p.r,
            }),
            _ => Err(ToolError::new(
                ToolErrorCode::InvalidNextToken,
                "next_token was not issued for this tenant, tool and filters; repeat the call without next_token",
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(tenant: &str) -> ReviewQuery {
        ReviewQuery {
            tenant_id: tenant.into(),
            product_id: Some(1),
            filter: ReviewFilter::default(),
        }
    }

    #[test]
    fn end_dates_cover_the_whole_day_and_both_bounds_are_inclusive() {
        let f = ReviewFilter {
            start: parse_start("2024-12-01").ok(),
            end: parse_end("2024-12-31").ok(),
            ..Default::default()
        };
        assert!(f.matches_date("2024-12-01T00:00:00Z"));
        assert!(f.matches_date("2024-12-31T23:59:59.999Z"));
        assert!(f.matches_date("2024-12-31"));
        assert!(!f.matches_date("2025-01-01T00:00:00Z"));
        assert!(!f.matches_date("2024-11-30T23:59:59Z"));
        assert_eq!(f.coarse_start().as_deref(), Some("2024-12-01"));
        assert_eq!(f.coarse_end_exclusive().as_deref(), Some("2025-01-01"));
        let exact = ReviewFilter {
            start: parse_start("2024-12-01T10:00:00+02:00").ok(),
            ..Default::default()
        };
        assert!(exact.matches_date("2024-12-01T08:00:00Z"));
        assert!(!exact.matches_date("2024-12-01T07:59:59Z"));
        assert!(parse_start("2024-13-01").is_err());
        assert!(parse_start("yesterday").is_err());
    }

    mod laws {
        use super::*;
        use crate::proptest_cases as cases;
        use proptest::prelude::*;

        /// Tenants over the characters the fingerprint itself uses (`;`, `=`), so that a
        /// tenant imitating the text of another query's filters is tried.
        fn query() -> impl Strategy<Value = ReviewQuery> {
            let day = |d: u32| parse_start(&format!("2024-12-{d:02}")).ok();
            (
                "[ab;=]{0,6}",
                prop::option::of(0i64..3),
                prop::option::of(1i64..3),
                prop::option::of(4i64..6),
                prop::option::of(1u32..3).prop_map(move |d| d.and_then(day)),
                prop::option::of(3u32..5).prop_map(move |d| d.and_then(day)),
                any::<bool>(),
            )
                .prop_map(
                    |(tenant_id, product_id, min_rating, max_rating, start, end, verified_only)| {
                        ReviewQuery {
                            tenant_id,
                            product_id,
                            filter: ReviewFilter {
                                min_rating,
                                max_rating,
                                start,
                                end,
                                verified_only,
                            },
                        }
                    },
                )
        }

        fn tool() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![GET_PRODUCT_REVIEWS, SEARCH_REVIEWS])
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: cases(1024), ..ProptestConfig::default() })]

            /// A `next_token` opens for exactly the tenant, tool and filters it was minted
            /// for, and resumes where it was minted.
            #[test]
            fn a_token_verifies_only_for_its_tenant_tool_and_filters(
                minted_for in query(), tool_a in tool(),
                asked_by in query(), tool_b in tool(),
                review_id in "[a-z0-9]{1,8}",
            ) {
                let signer = TokenSigner::new("secret");
                let key = ReviewKey {
                    tenant_id: minted_for.tenant_id.clone(),
                    product_id: minted_for.product_id.unwrap_or(7),
                    review_id,
                };
                let token = signer.mint(tool_a, &minted_for, &key).unwrap_or_else(|e| panic!("{e}"));
                let opened = |tool: &str, q: &ReviewQuery| match signer.open(tool, q, &token) {
                    Ok(Ok(k)) => Some(k),
                    Ok(Err(e)) => {
                        assert_eq!(e.code, ToolErrorCode::InvalidNextToken);
                        None
                    }
                    Err(e) => panic!("{e}"),
                };
                prop_assert_eq!(opened(tool_a, &minted_for), Some(key));
                let same = tool_a == tool_b && minted_for == asked_by;
                prop_assert_eq!(opened(tool_b, &asked_by).is_some(), same, "{:?} for {:?}", asked_by, minted_for);
                prop_assert_eq!(TokenSigner::new("other").open(tool_a, &minted_for, &token).ok().and_then(Result::ok), None);
            }
        }
    }

    #[test]
    fn a_review_matches_only_when_every_filter_lets_it_through() {
        let review = |rating: i64, verified_purchase: bool, review_date: &str| Review {
            product_id: 1,
            review_id: "r".into(),
            tenant_id: "t".into(),
            product_name: None,
            customer_id: None,
            rating,
            title: None,
            comment: None,
            review_date: review_date.into(),
            helpful_votes: None,
            verified_purchase,
            images: None,
        };
        let r = review(3, false, "2024-12-02T10:00:00Z");
        assert!(ReviewFilter::default().matches(&r));
        let with = |f: ReviewFilter| f.matches(&r);
        assert!(with(ReviewFilter {
            min_rating: Some(3),
            max_rating: Some(3),
            ..Default::default()
        }));
        assert!(!with(ReviewFilter {
            min_rating: Some(4),
            ..Default::default()
        }));
        assert!(!with(ReviewFilter {
            max_rating: Some(2),
            ..Default::default()
        }));
        assert!(!with(ReviewFilter {
            verified_only: true,
            ..Default::default()
        }));
        assert!(ReviewFilter {
            verified_only: true,
            ..Default::default()
        }
        .matches(&review(3, true, "2024-12-02")));
        assert!(!with(ReviewFilter {
            start: parse_start("2024-12-03").ok(),
            ..Default::default()
        }));
        assert!(with(ReviewFilter {
            end: parse_end("2024-12-02").ok(),
            ..Default::default()
        }));
    }

    #[test]
    fn a_token_for_another_product_than_its_query_names_is_refused() {
        // The signer seals whatever key it is given: a token whose position is in another
        // product than the query's own never resumes that query.
        let s = TokenSigner::new("secret");
        let query = ReviewQuery {
            tenant_id: "ta".into(),
            product_id: Some(1),
            filter: ReviewFilter::default(),
        };
        let key = |product_id| ReviewKey {
            tenant_id: "ta".into(),
            product_id,
            review_id: "r1".into(),
        };
        let opened = |product_id| {
            let token = s
                .mint(GET_PRODUCT_REVIEWS, &query, &key(product_id))
                .unwrap_or_else(|e| panic!("{e}"));
            s.open(GET_PRODUCT_REVIEWS, &query, &token)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(opened(1).ok(), Some(key(1)));
        assert_eq!(
            opened(2).err().map(|e| e.code),
            Some(ToolErrorCode::InvalidNextToken)
        );
    }

    #[test]
    fn tokens_are_bound_to_tenant_tool_and_filters() {
        let s = TokenSigner::new("secret");
        let key = ReviewKey {
            tenant_id: "a".into(),
            product_id: 1,
            review_id: "r1".into(),
        };
        let t = s.mint(GET_PRODUCT_REVIEWS, &q("a"), &key).unwrap_or_default();
        assert_eq!(
            s.open(GET_PRODUCT_REVIEWS, &q("a"), &t).ok().and_then(Result::ok),
            Some(key)
        );
        let refused = |query: &ReviewQuery, tool: &str, token: &str| matches!(s.open(tool, query, token), Ok(Err(e)) if e.code == ToolErrorCode::InvalidNextToken);
        assert!(refused(&q("b"), GET_PRODUCT_REVIEWS, &t));
        assert!(refused(&q("a"), SEARCH_REVIEWS, &t));
        let mut filtered = q("a");
        filtered.filter.min_rating = Some(4);
        assert!(refused(&filtered, GET_PRODUCT_REVIEWS, &t));
        assert!(refused(&q("a"), GET_PRODUCT_REVIEWS, "garbage"));
        assert!(refused(&q("a"), GET_PRODUCT_REVIEWS, &t.replace('.', ".x")));
        let other = TokenSigner::new("other");
        assert!(matches!(other.open(GET_PRODUCT_REVIEWS, &q("a"), &t), Ok(Err(_))));
    }
}
