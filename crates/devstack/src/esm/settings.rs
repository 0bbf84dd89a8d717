//! Event source mapping settings, read from `infra/template.yaml` (the single source of
//! truth: what is deployed is what is emulated).

use super::filter::FilterPattern;
use anyhow::{anyhow, bail, Context};
use serde_yaml::Value;
use std::time::Duration;

/// The SAM template, embedded at build time.
pub const TEMPLATE: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml"));

/// Where a mapping starts reading when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
}

/// The settings of one DynamoDB stream event source mapping, with Lambda's defaults
/// for what the template leaves out.
#[derive(Debug, Clone)]
pub struct EsmSettings {
    /// Records per invocation, 1–10000 (default 100).
    pub batch_size: usize,
    /// Informational: the emulation never waits to fill a batch.
    pub maximum_batching_window: Duration,
    /// Retries after the first failed invocation; `None` is Lambda's `-1` (retry
    /// until the record expires).
    pub maximum_retry_attempts: Option<u32>,
    /// `None` is Lambda's `-1` (no limit short of stream retention).
    pub maximum_record_age: Option<Duration>,
    pub bisect_batch_on_function_error: bool,
    /// `FunctionResponseTypes` contains `ReportBatchItemFailures`.
    pub report_batch_item_failures: bool,
    /// ORed; empty means every record is delivered.
    pub filters: Vec<FilterPattern>,
    pub starting_position: StartingPosition,
    /// Informational: the emulation keeps strict per-shard order (a valid order
    /// under any factor, since per-key order is what Lambda guarantees).
    pub parallelization_factor: u32,
}

impl Default for EsmSettings {
    fn default() -> Self {
        Self {
            batch_size: 100,
            maximum_batching_window: Duration::ZERO,
            maximum_retry_attempts: None,
            maximum_record_age: None,
            bisect_batch_on_function_error: false,
            report_batch_item_failures: false,
            filters: Vec::new(),
            starting_position: StartingPosition::TrimHorizon,
            parallelization_factor: 1,
        }
    }
}

/// The settings of the `Type: DynamoDB` event of `function_logical_id` in the
/// embedded template. A missing function or event is an error, not a default.
pub fn settings_for(function_logical_id: &str) -> anyhow::Result<EsmSettings> {
    settings_from_template(TEMPLATE, function_logical_id)
}

/// As [`settings_for`], over any template text.
pub fn settings_from_template(template: &str, function_logical_id: &str) -> anyhow::Result<EsmSettings> {
    let doc: Value = serde_yaml::from_str(template).context("template is not YAML")?;
    let params = doc.get("Parameters");
    let function = doc
        .get("Resources")
        .and_then(|r| r.get(function_logical_id))
        .ok_or_else(|| anyhow!("template has no resource {function_logical_id}"))?;
    let events = function
        .get("Properties")
        .and_then(|p| p.get("Events"))
        .and_then(Value::as_mapping)
        .ok_or_else(|| anyhow!("{function_logical_id} has no Events"))?;
    let mut streams = events
        .iter()
        .filter(|(_, e)| e.get("Type").and_then(Value::as_str) == Some("DynamoDB"));
    let (name, event) = streams
        .next()
        .ok_or_else(|| anyhow!("{function_logical_id} has no event of Type DynamoDB"))?;
    if streams.next().is_some() {
        bail!("{function_logical_id} has several DynamoDB events; the emulation expects one");
    }
    let name = name.as_str().unwrap_or("?");
    let props = event
        .get("Properties")
        .ok_or_else(|| anyhow!("{function_logical_id}.Events.{name} has no Properties"))?;
    parse_properties(props, params).with_context(|| format!("{function_logical_id}.Events.{name}"))
}

fn parse_properties(props: &Value, params: Option<&Value>) -> anyhow::Result<EsmSettings> {
    let d = EsmSettings::default();
    let get = |key: &str| -> anyhow::Result<Option<Value>> {
        props
            .get(key)
            .map(|v| resolve(v, params).with_context(|| format!("property {key}")))
            .transpose()
    };
    let int = |key: &str| -> anyhow::Result<Option<i64>> {
        get(key)?
            .map(|v| as_int(&v).ok_or_else(|| anyhow!("{key} is not an integer: {v:?}")))
            .transpose()
    };
    let boolean = |key: &str| -> anyhow::Result<Option<bool>> {
        get(key)?
            .map(|v| as_bool(&v).ok_or_else(|| anyhow!("{key} is not a boolean: {v:?}")))
            .transpose()
    };

    let batch_size = match int("BatchSize")? {
        None => d.batch_size,
        Some(n @ 1..=10_000) => n as usize,
        Some(n) => bail!("BatchSize {n} is outside 1..=10000"),
    };
    let maximum_batching_window = match int("MaximumBatchingWindowInSeconds")? {
        None => d.maximum_batching_window,
        Some(n @ 0..=300) => Duration::from_secs(n as u64),
        Some(n) => bail!("MaximumBatchingWindowInSeconds {n} is outside 0..=300"),
    };
    let maximum_retry_attempts = match int("MaximumRetryAttempts")? {
        None | Some(-1) => None,
        Some(n @ 0..=10_000) => Some(n as u32),
        Some(n) => bail!("MaximumRetryAttempts {n} is outside -1..=10000"),
    };
    let maximum_record_age = match int("MaximumRecordAgeInSeconds")? {
        None | Some(-1) => None,
        Some(n @ 60..=604_800) => Some(Duration::from_secs(n as u64)),
        Some(n) => bail!("MaximumRecordAgeInSeconds {n} is neither -1 nor within 60..=604800"),
    };
    let parallelization_factor = match int("ParallelizationFactor")? {
        None => 1,
        Some(n @ 1..=10) => n as u32,
        Some(n) => bail!("ParallelizationFactor {n} is outside 1..=10"),
    };
    let starting_position = match get("StartingPosition")? {
        None => bail!("StartingPosition is required for a DynamoDB event"),
        Some(v) => match v.as_str() {
            Some("TRIM_HORIZON") => StartingPosition::TrimHorizon,
            Some("LATEST") => StartingPosition::Latest,
            _ => bail!("StartingPosition must be TRIM_HORIZON or LATEST, found {v:?}"),
        },
    };
    let report_batch_item_failures = match get("FunctionResponseTypes")? {
        None => false,
        Some(Value::Sequence(types)) => types
            .iter()
            .any(|t| t.as_str() == Some("ReportBatchItemFailures")),
        Some(other) => bail!("FunctionResponseTypes must be a list, found {other:?}"),
    };
    let filters = match props.get("FilterCriteria") {
        None => Vec::new(),
        Some(fc) => {
            let list = fc
                .get("Filters")
                .and_then(Value::as_sequence)
                .ok_or_else(|| anyhow!("FilterCriteria.Filters must be a list"))?;
            list.iter()
                .enumerate()
                .map(|(i, f)| {
                    let pattern = f
                        .get("Pattern")
                        .ok_or_else(|| anyhow!("Filters[{i}] has no Pattern"))?;
                    let text = match resolve(pattern, params)? {
                        Value::String(s) => s,
                        // Tolerate a pattern written as YAML rather than a JSON string.
                        mapping @ Value::Mapping(_) => serde_json::to_string(&mapping)?,
                        other => bail!("Filters[{i}].Pattern must be a JSON string, found {other:?}"),
                    };
                    FilterPattern::parse(&text).with_context(|| format!("Filters[{i}]"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?
        }
    };
    Ok(EsmSettings {
        batch_size,
        maximum_batching_window,
        maximum_retry_attempts,
        maximum_record_age,
        bisect_batch_on_function_error: boolean("BisectBatchOnFunctionError")?
            .unwrap_or(d.bisect_batch_on_function_error),
        report_batch_item_failures,
        filters,
        starting_position,
        parallelization_factor,
    })
}

/// Resolves `!Ref Param` / `{Ref: Param}` to the parameter's `Default`; other
/// intrinsic functions cannot be evaluated locally and are errors when a setting
/// needs their value.
fn resolve(value: &Value, params: Option<&Value>) -> anyhow::Result<Value> {
    let reference = match value {
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str().map(str::to_owned),
        Value::Tagged(t) => bail!(
            "cannot evaluate !{} locally",
            t.tag.to_string().trim_start_matches('!')
        ),
        Value::Mapping(m) if m.len() == 1 => match m.get("Ref") {
            Some(v) => v.as_str().map(str::to_owned),
            None => match m.iter().next() {
                Some((Value::String(k), _)) if k.starts_with("Fn::") => bail!("cannot evaluate {k} locally"),
                _ => return Ok(value.clone()),
            },
        },
        _ => return Ok(value.clone()),
    };
    let name = reference.ok_or_else(|| anyhow!("Ref must name a parameter"))?;
    params
        .and_then(|p| p.get(name.as_str()))
        .and_then(|p| p.get("Default"))
        .cloned()
        .ok_or_else(|| anyhow!("Ref {name} is not a parameter with a Default"))
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const YAML: &str = r#"
Parameters:
  StreamBatchSize:
    Type: Number
    Default: 25
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Dlq:
    Type: AWS::SQS::Queue
  StreamValidatorFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Upload:
          Type: S3
          Properties: { Bucket: !Ref Bucket }
        Stream:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: !Ref StreamBatchSize
            MaximumBatchingWindowInSeconds: 2
            MaximumRetryAttempts: 5
            MaximumRecordAgeInSeconds: 3600
            BisectBatchOnFunctionError: true
            ParallelizationFactor: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
            FilterCriteria:
              Filters:
                - Pattern: '{"eventName":["INSERT"],"dynamodb":{"NewImage":{"status":{"S":["pending_validation"]}}}}'
                - Pattern: '{"eventName":["MODIFY"]}'
            DestinationConfig:
              OnFailure: { Destination: !GetAtt Dlq.Arn }
  Bare:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        S:
          Type: DynamoDB
          Properties: { Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST, MaximumRetryAttempts: -1 }
  NoStream:
    Type: AWS::Serverless::Function
    Properties: { Events: { Api: { Type: Api } } }
"#;

    #[test]
    fn reads_every_setting_and_tolerates_short_tags() -> anyhow::Result<()> {
        let s = settings_from_template(YAML, "StreamValidatorFunction")?;
        assert_eq!(s.batch_size, 25);
        assert_eq!(s.maximum_batching_window, Duration::from_secs(2));
        assert_eq!(s.maximum_retry_attempts, Some(5));
        assert_eq!(s.maximum_record_age, Some(Duration::from_secs(3600)));
        assert!(s.bisect_batch_on_function_error);
        assert!(s.report_batch_item_failures);
        assert_eq!(s.starting_position, StartingPosition::TrimHorizon);
        assert_eq!(s.parallelization_factor, 2);
        assert_eq!(s.filters.len(), 2);
        let insert =
            json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"status": {"S": "pending_validation"}}}});
        assert!(super::super::filter::matches_any(&s.filters, &insert));
        Ok(())
    }

    #[test]
    fn lambda_defaults_apply_to_unset_properties() -> anyhow::Result<()> {
        let s = settings_from_template(YAML, "Bare")?;
        assert_eq!(s.batch_size, 100);
        assert_eq!(s.maximum_retry_attempts, None);
        assert_eq!(s.maximum_record_age, None);
        assert!(!s.bisect_batch_on_function_error && !s.report_batch_item_failures);
        assert!(s.filters.is_empty());
        assert_eq!(s.starting_position, StartingPosition::Latest);
        Ok(())
    }

    #[test]
    fn missing_function_or_event_is_an_error() {
        assert!(settings_from_template(YAML, "Nope").is_err());
        assert!(settings_from_template(YAML, "NoStream").is_err());
        assert!(settings_from_template("Resources: {}", "StreamValidatorFunction").is_err());
        let bad = YAML.replace("BatchSize: !Ref StreamBatchSize", "BatchSize: 0");
        assert!(settings_from_template(&bad, "StreamValidatorFunction").is_err());
        let bad = YAML.replace("MaximumRecordAgeInSeconds: 3600", "MaximumRecordAgeInSeconds: 10");
        assert!(settings_from_template(&bad, "StreamValidatorFunction").is_err());
    }

    #[test]
    fn the_project_template_declares_both_stream_consumers() -> anyhow::Result<()> {
        for id in ["StreamValidatorFunction", "ErrorProcessorFunction"] {
            let s = settings_for(id)?;
            assert!(
                s.report_batch_item_failures,
                "{id} must report batch item failures"
            );
            assert!(s.maximum_retry_attempts.is_some(), "{id} must bound its retries");
            assert!(!s.filters.is_empty(), "{id} must filter the stream");
        }
        let validator = settings_for("StreamValidatorFunction")?;
        let pending =
            json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"status": {"S": "pending_validation"}}}});
        let error = json!({"eventName": "MODIFY", "dynamodb": {"NewImage": {"status": {"S": "error"}}}});
        assert!(super::super::filter::matches_any(&validator.filters, &pending));
        assert!(!super::super::filter::matches_any(&validator.filters, &error));
        let processor = settings_for("ErrorProcessorFunction")?;
        assert!(super::super::filter::matches_any(&processor.filters, &error));
        assert!(!super::super::filter::matches_any(&processor.filters, &pending));
        Ok(())
    }
}
