//! ProductReviews' tenant index in memory.

use async_trait::async_trait;
use chrono::NaiveTime;
use domain::tools::reviews::{
    RatingSample, Ratings, Review, ReviewFilter, ReviewIndex, ReviewKey, ReviewPage, ReviewQuery,
};
use domain::PortError;

/// The same index in memory, with DynamoDB's semantics: items in (product_id,
/// review_id) order, `Limit` counted before the filter, and the filter applied to
/// what was read.
#[derive(Default)]
pub struct InMemoryReviewIndex {
    pub reviews: std::sync::Mutex<Vec<Review>>,
    pub queries: std::sync::atomic::AtomicUsize,
}

impl InMemoryReviewIndex {
    pub fn new(mut reviews: Vec<Review>) -> Self {
        reviews.sort_by(|a, b| (a.product_id, &a.review_id).cmp(&(b.product_id, &b.review_id)));
        InMemoryReviewIndex {
            reviews: std::sync::Mutex::new(reviews),
            queries: Default::default(),
        }
    }

    /// How many items of the partition lie at or before `key`.
    fn upto(&self, q: &ReviewQuery, k: &ReviewKey) -> usize {
        self.partition(q)
            .iter()
            .take_while(|r| (r.product_id, r.review_id.as_str()) <= (k.product_id, k.review_id.as_str()))
            .count()
    }

    fn partition(&self, q: &ReviewQuery) -> Vec<Review> {
        let all = self.reviews.lock().map(|g| g.clone()).unwrap_or_default();
        all.into_iter()
            .filter(|r| r.tenant_id == q.tenant_id && q.product_id.is_none_or(|p| p == r.product_id))
            .collect()
    }
}

#[async_trait]
impl ReviewIndex for InMemoryReviewIndex {
    async fn query_page(
        &self,
        query: &ReviewQuery,
        start_after: Option<&ReviewKey>,
        page_size: i32,
    ) -> Result<ReviewPage, PortError> {
        self.queries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let part = self.partition(query);
        let from = match start_after {
            Some(k) => part
                .iter()
                .position(|r| (r.product_id, r.review_id.as_str()) > (k.product_id, k.review_id.as_str()))
                .unwrap_or(part.len()),
            None => 0,
        };
        let read: Vec<Review> = part
            .iter()
            .skip(from)
            .take(page_size.max(1) as usize)
            .cloned()
            .collect();
        let more = from + read.len() < part.len();
        let last_evaluated = if more { read.last().map(Review::key) } else { None };
        let f = &query.filter;
        let coarse = ReviewFilter {
            start: f.start.map(|s| s.date_naive().and_time(NaiveTime::MIN).and_utc()),
            end: f.end.and_then(|e| {
                e.date_naive()
                    .and_hms_nano_opt(23, 59, 59, 999_999_999)
                    .map(|d| d.and_utc())
            }),
            ..f.clone()
        };
        let items = read.into_iter().filter(|r| coarse.matches(r)).collect();
        Ok(ReviewPage {
            items,
            last_evaluated,
        })
    }

    async fn ratings(&self, query: &ReviewQuery, max_read: usize) -> Result<Ratings, PortError> {
        let mut start: Option<ReviewKey> = None;
        let mut samples = Vec::new();
        let mut read = 0;
        loop {
            let page_size = max_read.saturating_sub(read).clamp(1, 1000);
            let before = start.as_ref().map_or(0, |k| self.upto(query, k));
            let page = self.query_page(query, start.as_ref(), page_size as i32).await?;
            let after = page
                .last_evaluated
                .as_ref()
                .map_or_else(|| self.partition(query).len(), |k| self.upto(query, k));
            read += after - before;
            samples.extend(page.items.into_iter().map(|r| RatingSample {
                rating: r.rating,
                review_date: r.review_date,
            }));
            match page.last_evaluated {
                Some(k) if read < max_read => start = Some(k),
                Some(_) => {
                    return Ok(Ratings {
                        samples,
                        complete: false,
                    })
                }
                None => {
                    return Ok(Ratings {
                        samples,
                        complete: true,
                    })
                }
            }
        }
    }
}

/// The `review_id`s of a reviews tool's result, in order.
pub fn review_ids(result: &serde_json::Value) -> Vec<String> {
    result["reviews"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["review_id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}
