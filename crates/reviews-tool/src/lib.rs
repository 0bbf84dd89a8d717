//! `reviews` Gateway target: `get_product_reviews` and `search_reviews`.
//!
//! `tenant_id` is required, but never trusted from the agent: the gateway interceptor
//! overwrites it with the tenant of the caller's verified JWT before the call gets here.

use domain::tools::args::Args;
use domain::tools::gateway::{self, unknown_tool};
use domain::tools::reviews::{
    parse_end, parse_start, Review, ReviewFilter, ReviewIndex, ReviewKey, ReviewQuery, TokenSigner,
    DEFAULT_LIMIT, GET_PRODUCT_REVIEWS, MAX_LIMIT, MAX_TENANT_ID_LEN, SEARCH_REVIEWS,
};
use domain::tools::{ToolError, ToolOutcome};
use domain::PortError;
use lambda_runtime::LambdaEvent;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};

pub const TOOLS: &[&str] = &[GET_PRODUCT_REVIEWS, SEARCH_REVIEWS];

/// Environment of the function.
pub const TOKEN_SECRET_ENV: &str = "REVIEWS_TOKEN_SECRET";
pub const PAGE_SIZE_ENV: &str = "REVIEWS_QUERY_PAGE_SIZE";
pub const DEFAULT_PAGE_SIZE: i32 = 100;
/// The most items the summary reads per call (`summary.complete` says whether that was
/// all): a tenant with millions of reviews cannot time the function out.
pub const SUMMARY_MAX_ENV: &str = "REVIEWS_SUMMARY_MAX_ITEMS";
pub const DEFAULT_SUMMARY_MAX: usize = 10_000;
pub use domain::tools::gateway::REVIEWS_TARGET_ENV as TARGET_ENV;
/// Query pages read per call at most; past that the call returns what it found and a
/// `next_token` resuming after the last item read.
pub const MAX_PAGES_PER_CALL: usize = 50;

pub struct ReviewsConfig {
    pub signer: TokenSigner,
    /// DynamoDB `Limit` of each Query (items read before filtering).
    pub page_size: i32,
    /// The GatewayTarget this function serves; calls through any other are refused.
    pub target: String,
    /// Items the summary reads at most.
    pub summary_max: usize,
}

/// The Lambda handler: tool name from the client context, arguments from the event.
pub async fn handle<I: ReviewIndex>(
    event: LambdaEvent<Value>,
    index: &I,
    config: &ReviewsConfig,
) -> Result<Value, lambda_runtime::Error> {
    adapters::gateway::serve_target(event, &config.target, |tool, args| async move {
        call(&tool, args, index, config).await
    })
    .await
}

/// Dispatches on the tool part of `{target}___{tool}`.
pub async fn call<I: ReviewIndex>(tool: &str, args: Value, index: &I, config: &ReviewsConfig) -> ToolOutcome {
    let request = match parse(tool, args) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let start_after = match &request.next_token {
        Some(t) => match config.signer.open(tool, &request.query, t)? {
            Ok(k) => Some(k),
            Err(e) => return Ok(Err(e)),
        },
        None => None,
    };
    let page = read_page(tool, &request, start_after, index, config).await?;
    let summary = summary(&request.query, index, config.summary_max).await?;
    let reviews: Vec<Value> = page
        .reviews
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()
        .map_err(|e| PortError::rejected("review serializer", e))?;
    Ok(Ok(json!({
        "reviews": reviews,
        "summary": summary,
        "next_token": page.next_token,
    })))
}

#[derive(Debug)]
struct Request {
    query: ReviewQuery,
    limit: usize,
    next_token: Option<String>,
}

fn parse(tool: &str, event: Value) -> Result<Request, ToolError> {
    let per_product = match tool {
        GET_PRODUCT_REVIEWS => true,
        SEARCH_REVIEWS => false,
        other => {
            return Err(unknown_tool(
                &gateway::ToolName {
                    target: gateway::REVIEWS_TARGET.into(),
                    tool: other.into(),
                },
                TOOLS,
            ))
        }
    };
    let mut a = Args::from_event(event)?;
    let tenant_id = a.required_string("tenant_id");
    if let Some(t) = &tenant_id {
        if t.trim().is_empty() {
            a.problem("tenant_id", "must not be empty");
        } else if t.len() > MAX_TENANT_ID_LEN {
            a.problem(
                "tenant_id",
                format!("must be at most {MAX_TENANT_ID_LEN} characters"),
            );
        }
    }
    let product_id = if per_product {
        let p = a.required_integer("product_id");
        if let Some(p) = p.filter(|p| *p < 0) {
            a.problem("product_id", format!("must be a non-negative integer, got {p}"));
        }
        p
    } else {
        None
    };
    let min_rating = a.integer_in("min_rating", 1, 5);
    let max_rating = if per_product {
        a.integer_in("max_rating", 1, 5)
    } else {
        None
    };
    if let (Some(lo), Some(hi)) = (min_rating, max_rating) {
        if lo > hi {
            a.problem("min_rating", format!("must not exceed max_rating ({lo} > {hi})"));
        }
    }
    let start = a.string("start_date").and_then(|s| match parse_start(&s) {
        Ok(t) => Some(t),
        Err(e) => {
            a.problem("start_date", e);
            None
        }
    });
    let end = a.string("end_date").and_then(|s| match parse_end(&s) {
        Ok(t) => Some(t),
        Err(e) => {
            a.problem("end_date", e);
            None
        }
    });
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            a.problem("start_date", "must not be after end_date");
        }
    }
    let verified_only = if per_product {
        a.boolean("verified_only").unwrap_or(false)
    } else {
        false
    };
    let limit = a.integer_in("limit", 1, MAX_LIMIT).unwrap_or(DEFAULT_LIMIT);
    let next_token = a.string("next_token");
    if next_token
        .as_deref()
        .is_some_and(|t| t.is_empty() || t.len() > 2048)
    {
        a.problem("next_token", "must be a token returned by a previous call");
    }
    a.finish()?;
    Ok(Request {
        query: ReviewQuery {
            tenant_id: tenant_id.unwrap_or_default(),
            product_id,
            filter: ReviewFilter {
                min_rating,
                max_rating,
                start,
                end,
                verified_only,
            },
        },
        limit: limit as usize,
        next_token,
    })
}

struct Page {
    reviews: Vec<Review>,
    next_token: Option<String>,
}

/// Reads Query pages until `limit` reviews matched or the partition ends. DynamoDB
/// applies `Limit` before the FilterExpression, so one page may hold fewer matches
/// than asked; the token resumes exactly after the last review returned (or, when the
/// page budget ran out first, after the last item read: everything before it was seen).
async fn read_page<I: ReviewIndex>(
    tool: &str,
    request: &Request,
    mut start_after: Option<ReviewKey>,
    index: &I,
    config: &ReviewsConfig,
) -> Result<Page, PortError> {
    let filter = &request.query.filter;
    let mut reviews: Vec<Review> = Vec::new();
    let mut resume: Option<ReviewKey> = None;
    for _ in 0..MAX_PAGES_PER_CALL {
        let page = index
            .query_page(&request.query, start_after.as_ref(), config.page_size)
            .await?;
        let read = page.items.len();
        for (i, review) in page.items.into_iter().enumerate() {
            if !filter.matches(&review) {
                continue;
            }
            reviews.push(review);
            if reviews.len() == request.limit {
                let more = i + 1 < read || page.last_evaluated.is_some();
                let resume = if more {
                    reviews.last().map(Review::key)
                } else {
                    None
                };
                return finish(tool, request, reviews, resume, config);
            }
        }
        match page.last_evaluated {
            Some(k) => {
                resume = Some(k.clone());
                start_after = Some(k);
            }
            None => return finish(tool, request, reviews, None, config),
        }
    }
    finish(tool, request, reviews, resume, config)
}

fn finish(
    tool: &str,
    request: &Request,
    reviews: Vec<Review>,
    resume: Option<ReviewKey>,
    config: &ReviewsConfig,
) -> Result<Page, PortError> {
    let next_token = resume
        .map(|k| config.signer.mint(tool, &request.query, &k))
        .transpose()?;
    Ok(Page { reviews, next_token })
}

/// Every review matching the filters, across all pages, up to `max_read` items read:
/// count, average (half-up to 2 decimals, `null` with no match), a count per star
/// (keys "1" to "5" always present) and `complete` (false: more reviews exist past
/// what was read, and the figures cover only the first `max_read` in index order).
async fn summary<I: ReviewIndex>(
    query: &ReviewQuery,
    index: &I,
    max_read: usize,
) -> Result<Value, PortError> {
    let ratings = index.ratings(query, max_read).await?;
    let mut counts = [0u64; 5];
    let mut total = Decimal::ZERO;
    let mut n: u64 = 0;
    for s in ratings
        .samples
        .iter()
        .filter(|s| query.filter.matches_date(&s.review_date))
    {
        n += 1;
        total += Decimal::from(s.rating);
        if (1..=5).contains(&s.rating) {
            counts[(s.rating - 1) as usize] += 1;
        }
    }
    let average = if n == 0 {
        Value::Null
    } else {
        let avg =
            (total / Decimal::from(n)).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        avg.to_f64()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    };
    Ok(json!({
        "review_count": n,
        "average_rating": average,
        "rating_counts": {
            "1": counts[0], "2": counts[1], "3": counts[2], "4": counts[3], "5": counts[4]
        },
        "complete": ratings.complete,
    }))
}

#[cfg(test)]
mod tests;
