//! The Gateway's targets and interceptor as deployed, run in-process: each function's
//! real handler with the event and client context AgentCore sends it, its clients built
//! once (as a warm execution environment holds them). `devstack tool` and `devstack
//! gateway` both call the functions through here.

use adapters::config::{parsed_or, required, ProcessEnv, Source};
use adapters::dynamodb::{DynamoProfiles, DynamoReviewIndex, DynamoWarranties};
use anyhow::anyhow;
use domain::tools::gateway::{
    GatewayInvocation, ToolName, CUSTOMER_PROFILE_TARGET, REVIEWS_TARGET_ENV, SEPARATOR, WARRANTY_TARGET,
};
use domain::tools::reviews::TokenSigner;
use domain::tools::warranty::SystemClock;
use gateway_interceptor::InterceptorConfig;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

const HINT: &str = "source .local/env";

/// Which function serves a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Reviews,
    Warranty,
    CustomerProfile,
}

/// One GatewayTarget: its name, a target id in AgentCore's form (10 upper-case
/// letters and digits), the function behind it and its inline tool schemas
/// (`infra/tool-schemas/`, the files the template embeds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub id: &'static str,
    pub function: Function,
    pub schemas: &'static str,
}

impl Target {
    /// `{target}___{tool}` for a tool of this target.
    pub fn tool_name(&self, tool: &str) -> String {
        format!("{}{SEPARATOR}{tool}", self.name)
    }
}

/// The three targets, the reviews one under its configured name
/// (`REVIEWS_TARGET_NAME`, required like in the interceptor and the function).
pub fn targets(src: &(impl Source + ?Sized)) -> anyhow::Result<Vec<Target>> {
    Ok(vec![
        Target {
            name: required(
                src,
                REVIEWS_TARGET_ENV,
                "the reviews GatewayTarget's name (source .local/env)",
            )?,
            id: "REVIEWSTGT",
            function: Function::Reviews,
            schemas: include_str!("../../../infra/tool-schemas/reviews.json"),
        },
        Target {
            name: WARRANTY_TARGET.to_string(),
            id: "WARRANTYTG",
            function: Function::Warranty,
            schemas: include_str!("../../../infra/tool-schemas/warranty.json"),
        },
        Target {
            name: CUSTOMER_PROFILE_TARGET.to_string(),
            id: "PROFILETGT",
            function: Function::CustomerProfile,
            schemas: include_str!("../../../infra/tool-schemas/customer-profile.json"),
        },
    ])
}

/// The tool schemas of a target: `[{name, description, inputSchema}]`.
pub fn schemas(target: &Target) -> anyhow::Result<Vec<Value>> {
    match serde_json::from_str(target.schemas)? {
        Value::Array(tools) => Ok(tools),
        _ => Err(anyhow!("the {} tool schemas are not a JSON array", target.name)),
    }
}

/// A function that failed: what Lambda reports as the invocation's error (not a tool
/// result). The message may name the fault, never an item's values.
#[derive(Debug, thiserror::Error)]
#[error("the function failed (a Lambda error, not a tool result): {0}")]
pub struct FunctionError(pub String);

/// The functions and their clients, built once.
pub struct Functions {
    pub targets: Vec<Target>,
    pub interceptor: InterceptorConfig,
    reviews: DynamoReviewIndex,
    reviews_config: reviews_tool::ReviewsConfig,
    warranties: DynamoWarranties,
    profiles: DynamoProfiles,
}

impl Functions {
    /// From the environment the template gives each function (`.local/env` locally).
    pub async fn from_env() -> anyhow::Result<Functions> {
        let env = &ProcessEnv;
        let targets = targets(env)?;
        let interceptor = InterceptorConfig::from_source(env)?;
        let sdk = adapters::aws::sdk_config().await;
        let dynamodb = adapters::dynamodb::client(&sdk);
        let profiles_table = required(env, adapters::config::CUSTOMER_PROFILE_TABLE, HINT)?;
        Ok(Functions {
            reviews_config: reviews_tool::ReviewsConfig {
                signer: TokenSigner::new(required(env, reviews_tool::TOKEN_SECRET_ENV, HINT)?),
                page_size: parsed_or(env, reviews_tool::PAGE_SIZE_ENV, reviews_tool::DEFAULT_PAGE_SIZE)?,
                target: interceptor.pinned_target.clone(),
                summary_max: parsed_or(
                    env,
                    reviews_tool::SUMMARY_MAX_ENV,
                    reviews_tool::DEFAULT_SUMMARY_MAX,
                )?,
            },
            reviews: DynamoReviewIndex::new(
                dynamodb.clone(),
                required(env, adapters::config::PRODUCT_REVIEWS_TABLE, HINT)?,
            ),
            warranties: DynamoWarranties::new(
                dynamodb.clone(),
                required(env, adapters::config::WARRANTY_TABLE, HINT)?,
            ),
            profiles: DynamoProfiles::new(dynamodb, profiles_table),
            targets,
            interceptor,
        })
    }

    /// The target whose name `{target}___{tool}` starts with (exactly, as the Gateway
    /// routes).
    pub fn target(&self, full_tool_name: &str) -> Option<&Target> {
        let name = ToolName::parse(full_tool_name).ok()?;
        self.targets.iter().find(|t| t.name == name.target)
    }

    /// The target serving a plain tool name (`devstack tool`).
    pub fn target_of_tool(&self, tool: &str) -> Option<&Target> {
        self.targets.iter().find(|t| {
            schemas(t)
                .map(|s| s.iter().any(|d| d["name"] == tool))
                .unwrap_or(false)
        })
    }

    /// The REQUEST interceptor with AgentCore's input event.
    pub async fn intercept(&self, input: Value, request_id: &str) -> Result<Value, FunctionError> {
        let ctx =
            adapters::gateway::lambda_context(request_id, None).map_err(|e| FunctionError(e.to_string()))?;
        gateway_interceptor::handle(LambdaEvent::new(input, ctx), &self.interceptor)
            .await
            .map_err(|e| FunctionError(e.to_string()))
    }

    /// The target's function with the arguments as the event and the Gateway's client
    /// context.
    pub async fn invoke(
        &self,
        call: &GatewayInvocation<'_>,
        arguments: Value,
    ) -> Result<Value, FunctionError> {
        let target = self
            .target(call.tool_name)
            .ok_or_else(|| FunctionError(format!("no target serves {:?}", call.tool_name)))?;
        let client_context = call.client_context().to_string();
        let ctx = adapters::gateway::lambda_context(call.aws_request_id, Some(&client_context))
            .map_err(|e| FunctionError(e.to_string()))?;
        let event = LambdaEvent::new(arguments, ctx);
        let result = match target.function {
            Function::Reviews => reviews_tool::handle(event, &self.reviews, &self.reviews_config).await,
            Function::Warranty => {
                let ports = warranty_tool::WarrantyPorts {
                    warranties: &self.warranties,
                    profiles: &self.profiles,
                    clock: &SystemClock,
                };
                warranty_tool::handle(event, &ports).await
            }
            Function::CustomerProfile => customer_profile_tool::handle(event, &self.profiles).await,
        };
        result.map_err(|e| FunctionError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_carry_their_schema_files_and_the_configured_reviews_name() {
        let t = targets(&[("REVIEWS_TARGET_NAME", "product-reviews")][..]).unwrap_or_default();
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["product-reviews", "warranty", "customer-profile"]);
        let tools: Vec<String> = t
            .iter()
            .flat_map(|t| {
                schemas(t)
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |s| t.tool_name(s["name"].as_str().unwrap_or("")))
            })
            .collect();
        assert_eq!(
            tools,
            [
                "product-reviews___get_product_reviews",
                "product-reviews___search_reviews",
                "warranty___check_warranty_status",
                "customer-profile___get_customer_profile",
                "customer-profile___update_customer_profile"
            ]
        );
        let none: [(&str, &str); 0] = [];
        assert!(
            targets(&none[..]).is_err(),
            "the reviews target's name is required"
        );
    }
}
