//! The crate boundaries README and DESIGN.md section 2 promise, read off `cargo tree`:
//! `domain` is pure (no SDK, no driver, no Lambda runtime), each function links only the
//! backends it uses, and migrations ship in no function. A dependency added in the wrong
//! place fails here, not in a review.

use std::collections::BTreeSet;
use std::process::Command;

type TestResult = anyhow::Result<()>;

/// Every package `cargo tree` resolves for `package`'s normal (shipped) dependencies.
fn shipped_dependencies(package: &str) -> anyhow::Result<BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree", "--locked", "-q", "-p", package, "-e", "normal", "--prefix", "none", "-f", "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let names = String::from_utf8(output.stdout)?
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect::<BTreeSet<_>>();
    anyhow::ensure!(
        names.contains(package),
        "cargo tree -p {package} did not list the package itself"
    );
    Ok(names)
}

/// Fails naming every dependency of `package` that starts with one of `forbidden`.
fn assert_free_of(package: &str, forbidden: &[&str]) -> TestResult {
    let found: Vec<String> = shipped_dependencies(package)?
        .into_iter()
        .filter(|name| forbidden.iter().any(|prefix| name.starts_with(prefix)))
        .collect();
    anyhow::ensure!(found.is_empty(), "{package} links {found:?}, which it must not");
    Ok(())
}

/// The PostgreSQL driver, its pool and the migration runner.
const DRIVERS: [&str; 3] = ["tokio-postgres", "deadpool", "refinery"];

#[test]
fn domain_links_no_sdk_no_driver_and_no_lambda_runtime() -> TestResult {
    let mut forbidden = vec![
        "aws-sdk-",
        "aws-smithy-",
        "aws-config",
        "rustls",
        "lambda_runtime",
        "lambda_http",
    ];
    forbidden.extend(DRIVERS);
    assert_free_of("domain", &forbidden)
}

#[test]
fn the_interceptor_links_no_aws_sdk_and_no_database_driver() -> TestResult {
    let mut forbidden = vec!["aws-sdk-", "aws-config", "rustls"];
    forbidden.extend(DRIVERS);
    assert_free_of("gateway-interceptor", &forbidden)
}

#[test]
fn the_agent_tools_link_dynamodb_only() -> TestResult {
    for tool in ["reviews-tool", "warranty-tool", "customer-profile-tool"] {
        let mut forbidden = vec![
            "aws-sdk-s3",
            "aws-sdk-sns",
            "aws-sdk-sqs",
            "aws-sdk-rds",
            "aws-sdk-secretsmanager",
        ];
        forbidden.extend(DRIVERS);
        assert_free_of(tool, &forbidden)?;
        anyhow::ensure!(
            shipped_dependencies(tool)?.contains("aws-sdk-dynamodb"),
            "{tool} no longer links DynamoDB: update this test's idea of the tools"
        );
    }
    Ok(())
}

#[test]
fn no_function_ships_the_migrations() -> TestResult {
    for function in [
        "csv-parser",
        "stream-validator",
        "error-processor",
        "upload-reconciler",
        "vendor-api",
        "reviews-tool",
        "warranty-tool",
        "customer-profile-tool",
        "gateway-interceptor",
    ] {
        assert_free_of(function, &["refinery"])?;
    }
    // The check can fail: devstack, which applies the migrations, does link refinery.
    anyhow::ensure!(shipped_dependencies("devstack")?.contains("refinery"));
    Ok(())
}
