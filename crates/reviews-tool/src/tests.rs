use super::*;
use domain::tools::into_result;
use std::collections::HashSet;
use testkit::InMemoryReviewIndex;

fn review(tenant: &str, product: i64, id: &str, rating: i64, date: &str, verified: bool) -> Review {
    Review {
        product_id: product,
        review_id: id.to_string(),
        tenant_id: tenant.to_string(),
        product_name: Some(format!("Product {product}")),
        customer_id: Some(json!(1)),
        rating,
        title: Some("t".into()),
        comment: Some("c".into()),
        review_date: date.to_string(),
        helpful_votes: Some(0),
        verified_purchase: verified,
        images: None,
    }
}

fn config(page_size: i32) -> ReviewsConfig {
    ReviewsConfig {
        signer: TokenSigner::new("test-secret"),
        page_size,
        target: "reviews".into(),
        summary_max: DEFAULT_SUMMARY_MAX,
    }
}

fn sample() -> InMemoryReviewIndex {
    let mut v = Vec::new();
    for i in 0..23 {
        let rating = (i % 5) + 1;
        let day = (i % 28) + 1;
        v.push(review(
            "ta",
            1,
            &format!("r{i:03}"),
            rating,
            &format!("2024-12-{day:02}T12:00:00Z"),
            i % 2 == 0,
        ));
    }
    v.push(review("ta", 2, "x001", 5, "2024-12-31T23:59:59Z", true));
    v.push(review("tb", 1, "b001", 1, "2024-12-01T00:00:00Z", true));
    InMemoryReviewIndex::new(v)
}

async fn run(tool: &str, args: Value, index: &InMemoryReviewIndex, cfg: &ReviewsConfig) -> Value {
    match call(tool, args, index, cfg).await {
        Ok(r) => into_result(r),
        Err(e) => panic!("fault: {e}"),
    }
}

use testkit::reviews::review_ids as ids;

#[tokio::test]
async fn pages_through_every_match_exactly_once_whatever_the_page_size() {
    let index = sample();
    for page_size in [1, 2, 3, 7, 100] {
        let cfg = config(page_size);
        for limit in [1, 2, 4, 10, 50] {
            let mut seen = Vec::new();
            let mut token: Option<String> = None;
            for _ in 0..100 {
                let mut args = json!({"tenant_id": "ta", "product_id": 1, "min_rating": 3, "limit": limit});
                if let Some(t) = &token {
                    args["next_token"] = json!(t);
                }
                let out = run(GET_PRODUCT_REVIEWS, args, &index, &cfg).await;
                assert!(out.get("error").is_none(), "{out}");
                assert!(ids(&out).len() <= limit as usize);
                seen.extend(ids(&out));
                assert_eq!(out["summary"]["review_count"], 13, "{out}");
                match out["next_token"].as_str() {
                    Some(t) => token = Some(t.to_string()),
                    None => break,
                }
            }
            let unique: HashSet<_> = seen.iter().collect();
            assert_eq!(seen.len(), 13, "page_size {page_size} limit {limit}: {seen:?}");
            assert_eq!(unique.len(), 13);
        }
    }
}

#[tokio::test]
async fn a_full_page_is_returned_even_when_the_filter_drops_most_items() {
    let index = sample();
    let cfg = config(2);
    let out = run(
        GET_PRODUCT_REVIEWS,
        json!({"tenant_id": "ta", "product_id": 1, "min_rating": 5, "limit": 3}),
        &index,
        &cfg,
    )
    .await;
    assert_eq!(ids(&out).len(), 3, "{out}");
    assert!(out["next_token"].is_string());
}

#[tokio::test]
async fn summary_counts_every_match_and_rounds_half_up() {
    let index = InMemoryReviewIndex::new(vec![
        review("t", 1, "a", 5, "2024-01-01T00:00:00Z", true),
        review("t", 1, "b", 4, "2024-01-02T00:00:00Z", true),
        review("t", 1, "c", 4, "2024-01-03T00:00:00Z", false),
        review("t", 1, "d", 4, "2024-01-04T00:00:00Z", true),
        review("t", 1, "e", 4, "2024-01-05T00:00:00Z", true),
        review("t", 1, "f", 4, "2024-01-06T00:00:00Z", true),
        review("t", 1, "g", 4, "2024-01-07T00:00:00Z", true),
        review("t", 1, "h", 4, "2024-01-08T00:00:00Z", true),
    ]);
    // 33 / 8 = 4.125 → 4.13 (half-up).
    let out = run(
        GET_PRODUCT_REVIEWS,
        json!({"tenant_id": "t", "product_id": 1, "limit": 1}),
        &index,
        &config(100),
    )
    .await;
    assert_eq!(out["summary"]["review_count"], 8);
    assert_eq!(out["summary"]["average_rating"], json!(4.13));
    assert_eq!(
        out["summary"]["rating_counts"],
        json!({"1": 0, "2": 0, "3": 0, "4": 7, "5": 1})
    );
    let none = run(
        GET_PRODUCT_REVIEWS,
        json!({"tenant_id": "t", "product_id": 9}),
        &index,
        &config(100),
    )
    .await;
    assert_eq!(
        none["summary"],
        json!({"review_count": 0, "average_rating": null, "rating_counts": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}, "complete": true})
    );
    assert_eq!(none["reviews"], json!([]));
    assert_eq!(none["next_token"], Value::Null);
}

#[tokio::test]
async fn date_bounds_are_inclusive_and_an_end_date_covers_its_day() {
    let index = sample();
    let out = run(
        SEARCH_REVIEWS,
        json!({"tenant_id": "ta", "start_date": "2024-12-31", "end_date": "2024-12-31"}),
        &index,
        &config(100),
    )
    .await;
    assert_eq!(ids(&out), vec!["x001".to_string()], "{out}");
    let out = run(
        GET_PRODUCT_REVIEWS,
        json!({"tenant_id": "ta", "product_id": 1, "start_date": "2024-12-02T12:00:00Z", "end_date": "2024-12-03T12:00:00Z", "verified_only": true}),
        &index,
        &config(100),
    )
    .await;
    // r001 (day 2, odd → unverified) and r002 (day 3, verified).
    assert_eq!(ids(&out), vec!["r002".to_string()], "{out}");
}

#[tokio::test]
async fn tenants_see_only_their_own_reviews_and_tokens_do_not_cross_tenants() {
    let index = sample();
    let cfg = config(100);
    let b = run(SEARCH_REVIEWS, json!({"tenant_id": "tb"}), &index, &cfg).await;
    assert_eq!(ids(&b), vec!["b001".to_string()]);
    let a = run(
        SEARCH_REVIEWS,
        json!({"tenant_id": "ta", "limit": 2}),
        &index,
        &cfg,
    )
    .await;
    let token = a["next_token"].as_str().unwrap_or_default().to_string();
    assert!(!token.is_empty());
    let stolen = run(
        SEARCH_REVIEWS,
        json!({"tenant_id": "tb", "next_token": token}),
        &index,
        &cfg,
    )
    .await;
    assert_eq!(stolen["error"]["code"], "INVALID_NEXT_TOKEN", "{stolen}");
    let other_query = run(
        SEARCH_REVIEWS,
        json!({"tenant_id": "ta", "min_rating": 2, "next_token": token}),
        &index,
        &cfg,
    )
    .await;
    assert_eq!(other_query["error"]["code"], "INVALID_NEXT_TOKEN");
}

#[tokio::test]
async fn malformed_arguments_are_answered_with_json_errors() {
    let index = sample();
    let cfg = config(100);
    let bad = [
        (GET_PRODUCT_REVIEWS, json!({"product_id": 1})),
        (GET_PRODUCT_REVIEWS, json!({"tenant_id": "", "product_id": 1})),
        (GET_PRODUCT_REVIEWS, json!({"tenant_id": "ta"})),
        (GET_PRODUCT_REVIEWS, json!({"tenant_id": "ta", "product_id": "1"})),
        (
            GET_PRODUCT_REVIEWS,
            json!({"tenant_id": "ta", "product_id": 1, "limit": 0}),
        ),
        (
            GET_PRODUCT_REVIEWS,
            json!({"tenant_id": "ta", "product_id": 1, "limit": 51}),
        ),
        (
            GET_PRODUCT_REVIEWS,
            json!({"tenant_id": "ta", "product_id": 1, "limit": 2.5}),
        ),
        (
            GET_PRODUCT_REVIEWS,
            json!({"tenant_id": "ta", "product_id": 1, "min_rating": 6}),
        ),
        (
            GET_PRODUCT_REVIEWS,
            json!({"tenant_id": "ta", "product_id": 1, "min_rating": 4, "max_rating": 2}),
        ),
        (
            GET_PRODUCT_REVIEWS,
            json!({"tenant_id": "ta", "product_id": 1, "start_date": "12/01/2024"}),
        ),
        (
            GET_PRODUCT_REVIEWS,
            json!({"tenant_id": "ta", "product_id": 1, "start_date": "2024-12-31", "end_date": "2024-12-01"}),
        ),
        (
            GET_PRODUCT_REVIEWS,
            json!({"tenant_id": "ta", "product_id": 1, "verified_only": "yes"}),
        ),
        (
            GET_PRODUCT_REVIEWS,
            json!({"tenant_id": "ta", "product_id": 1, "limit": null}),
        ),
        (
            GET_PRODUCT_REVIEWS,
            json!({"tenant_id": "ta", "product_id": 1, "colour": "red"}),
        ),
        (SEARCH_REVIEWS, json!({"tenant_id": "ta", "max_rating": 3})),
        (SEARCH_REVIEWS, json!({"tenant_id": "ta", "product_id": 1})),
        (SEARCH_REVIEWS, json!({"tenant_id": 7})),
        (SEARCH_REVIEWS, json!(["tenant_id"])),
    ];
    for (tool, args) in bad {
        let out = run(tool, args.clone(), &index, &cfg).await;
        assert_eq!(out["error"]["code"], "INVALID_ARGUMENT", "{tool} {args} → {out}");
    }
    let forged = run(
        GET_PRODUCT_REVIEWS,
        json!({"tenant_id": "ta", "product_id": 1, "next_token": "abc.def"}),
        &index,
        &cfg,
    )
    .await;
    assert_eq!(forged["error"]["code"], "INVALID_NEXT_TOKEN");
    let unknown = run("delete_reviews", json!({"tenant_id": "ta"}), &index, &cfg).await;
    assert_eq!(unknown["error"]["code"], "UNKNOWN_TOOL");
}

#[tokio::test]
async fn the_handler_reads_the_tool_name_from_the_client_context() {
    let index = sample();
    let cfg = config(100);
    let cc = gateway::gateway_client_context("reviews___search_reviews", "1").to_string();
    let ctx = adapters::gateway::lambda_context("req-1", Some(&cc)).unwrap_or_else(|e| panic!("{e}"));
    let out = handle(LambdaEvent::new(json!({"tenant_id": "tb"}), ctx), &index, &cfg)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ids(&out), vec!["b001".to_string()]);
    let no_cc = adapters::gateway::lambda_context("req-2", None).unwrap_or_else(|e| panic!("{e}"));
    let out = handle(LambdaEvent::new(json!({"tenant_id": "tb"}), no_cc), &index, &cfg)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out["error"]["code"], "UNKNOWN_TOOL");
}

#[tokio::test]
async fn the_summary_reads_a_bounded_number_of_reviews_and_says_so() {
    let index = sample();
    let mut cfg = config(100);
    cfg.summary_max = 5;
    let out = run(
        GET_PRODUCT_REVIEWS,
        json!({"tenant_id": "ta", "product_id": 1, "limit": 2}),
        &index,
        &cfg,
    )
    .await;
    assert_eq!(out["summary"]["complete"], false, "{out}");
    assert_eq!(out["summary"]["review_count"], 5, "{out}");
    // The page itself is unaffected by the summary's bound.
    assert_eq!(ids(&out).len(), 2);
    // Filters are applied to what was read: r000..r004 have ratings 1..5.
    let filtered = run(
        GET_PRODUCT_REVIEWS,
        json!({"tenant_id": "ta", "product_id": 1, "min_rating": 5}),
        &index,
        &cfg,
    )
    .await;
    assert_eq!(filtered["summary"]["review_count"], 1, "{filtered}");
    assert_eq!(filtered["summary"]["complete"], false);
    // A bound the data fits in leaves the summary complete.
    cfg.summary_max = 23;
    let whole = run(
        GET_PRODUCT_REVIEWS,
        json!({"tenant_id": "ta", "product_id": 1}),
        &index,
        &cfg,
    )
    .await;
    assert_eq!(whole["summary"]["review_count"], 23, "{whole}");
    assert_eq!(whole["summary"]["complete"], true, "{whole}");
}

#[tokio::test]
async fn a_call_through_another_target_is_refused_before_any_read() {
    let index = sample();
    let cfg = config(100);
    for tool_name in [
        "reviews-v2___search_reviews",
        "warranty___search_reviews",
        "REVIEWS___search_reviews",
    ] {
        let cc = gateway::gateway_client_context(tool_name, "1").to_string();
        let ctx = adapters::gateway::lambda_context("req", Some(&cc)).unwrap_or_else(|e| panic!("{e}"));
        let out = handle(LambdaEvent::new(json!({"tenant_id": "tb"}), ctx), &index, &cfg)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out["error"]["code"], "UNKNOWN_TOOL", "{tool_name}: {out}");
    }
    assert_eq!(
        index.queries.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing was read"
    );
}

#[tokio::test]
async fn a_tenant_id_of_up_to_128_characters_and_any_non_negative_product_are_accepted() {
    let index = sample();
    let cfg = config(100);
    let code = |out: Value| out["error"]["code"].as_str().map(str::to_string);
    let longest = "t".repeat(MAX_TENANT_ID_LEN);
    let ok = run(SEARCH_REVIEWS, json!({"tenant_id": longest}), &index, &cfg).await;
    assert_eq!(code(ok), None);
    let over = "t".repeat(MAX_TENANT_ID_LEN + 1);
    let refused = run(SEARCH_REVIEWS, json!({"tenant_id": over}), &index, &cfg).await;
    assert_eq!(code(refused).as_deref(), Some("INVALID_ARGUMENT"));
    let zero = run(
        GET_PRODUCT_REVIEWS,
        json!({"tenant_id": "ta", "product_id": 0}),
        &index,
        &cfg,
    )
    .await;
    assert_eq!(code(zero), None, "product 0 exists as an id");
    let negative = run(
        GET_PRODUCT_REVIEWS,
        json!({"tenant_id": "ta", "product_id": -1}),
        &index,
        &cfg,
    )
    .await;
    assert_eq!(
        negative["error"]["details"][0]["problem"],
        "must be a non-negative integer, got -1"
    );
}

#[tokio::test]
async fn equal_bounds_are_a_range_of_one() {
    let index = sample();
    let cfg = config(100);
    let same_rating = run(
        GET_PRODUCT_REVIEWS,
        json!({"tenant_id": "ta", "product_id": 2, "min_rating": 5, "max_rating": 5}),
        &index,
        &cfg,
    )
    .await;
    assert_eq!(ids(&same_rating), vec!["x001".to_string()], "{same_rating}");
    let same_instant = run(
        SEARCH_REVIEWS,
        json!({"tenant_id": "ta", "start_date": "2024-12-31T23:59:59Z", "end_date": "2024-12-31T23:59:59Z"}),
        &index,
        &cfg,
    )
    .await;
    assert_eq!(ids(&same_instant), vec!["x001".to_string()], "{same_instant}");
}

#[tokio::test]
async fn a_next_token_is_refused_unread_when_empty_or_over_2048_characters() {
    let index = sample();
    let cfg = config(100);
    let with_token = |token: String| json!({"tenant_id": "ta", "product_id": 1, "next_token": token});
    for refused in [String::new(), "t".repeat(2_049)] {
        let out = run(GET_PRODUCT_REVIEWS, with_token(refused.clone()), &index, &cfg).await;
        assert_eq!(
            out["error"]["code"],
            "INVALID_ARGUMENT",
            "{} chars: {out}",
            refused.len()
        );
        assert_eq!(
            out["error"]["details"][0]["problem"],
            "must be a token returned by a previous call"
        );
    }
    // 2,048 characters are read, and this one does not verify.
    let out = run(GET_PRODUCT_REVIEWS, with_token("t".repeat(2_048)), &index, &cfg).await;
    assert_eq!(out["error"]["code"], "INVALID_NEXT_TOKEN", "{out}");
}

#[tokio::test]
async fn a_page_that_ends_with_the_last_match_offers_no_next_token() {
    let index = sample();
    // Product 1 of tenant ta has 23 reviews: a limit of 23 takes them all.
    let out = run(
        GET_PRODUCT_REVIEWS,
        json!({"tenant_id": "ta", "product_id": 1, "limit": 23}),
        &index,
        &config(100),
    )
    .await;
    assert_eq!(ids(&out).len(), 23, "{out}");
    assert!(out["next_token"].is_null(), "{out}");
}
