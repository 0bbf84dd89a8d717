//! `sanitize_runtime_api` and the environment. One test in its own binary: it changes
//! the process environment.

use lambda_shim::{sanitize_runtime_api, RUNTIME_API_ENV};

#[tokio::test]
async fn points_the_runtime_at_the_proxy_only_when_there_is_a_runtime_api() {
    std::env::remove_var(RUNTIME_API_ENV);
    assert!(sanitize_runtime_api()
        .await
        .expect("no variable is not an error")
        .is_none());
    assert!(std::env::var_os(RUNTIME_API_ENV).is_none());

    std::env::set_var(RUNTIME_API_ENV, "127.0.0.1:9001");
    let shim = sanitize_runtime_api().await.expect("started").expect("a shim");
    assert_eq!(shim.upstream(), "127.0.0.1:9001");
    assert_eq!(std::env::var(RUNTIME_API_ENV).ok(), Some(shim.runtime_api()));
    assert_ne!(shim.runtime_api(), "127.0.0.1:9001");
    shim.shutdown();

    std::env::set_var(RUNTIME_API_ENV, "not a host");
    assert!(sanitize_runtime_api().await.is_err());
    assert_eq!(std::env::var(RUNTIME_API_ENV).ok().as_deref(), Some("not a host"));
    // `install` logs and carries on.
    assert!(lambda_shim::install().await.is_none());
}
