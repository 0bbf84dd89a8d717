use adapters::config::ReconcilerConfig;
use csv_parser::Settings;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use upload_reconciler::Reconciler;

#[tokio::main]
async fn main() -> Result<(), Error> {
    adapters::telemetry::init();
    let config = ReconcilerConfig::from_env()?;
    let aws = adapters::aws::sdk_config().await;
    let notifications = adapters::config::NotificationConfig::from_source(&adapters::config::ProcessEnv)?;
    let pipeline =
        adapters::pipeline::PipelineAdapters::with_sdk(config.pipeline.clone(), notifications, &aws).await?;
    let failed =
        adapters::sqs::SqsFailedDeliveries::new(adapters::sqs::client(&aws), config.on_failure_queues());
    let settings = Settings {
        max_upload_bytes: config.pipeline.max_upload_bytes,
        record_ttl_days: config.pipeline.record_ttl_days,
        parse_lease: config.pipeline.parse_lease,
    };
    let (pipeline, failed, settings, config) = (&pipeline, &failed, &settings, &config);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
        let _guard = span.enter();
        let reconciler = Reconciler {
            objects: &pipeline.objects,
            records: &pipeline.records,
            ledger: &pipeline.catalog,
            failed,
            settings,
            bucket: &config.pipeline.upload_bucket,
            notify: pipeline.notify(),
        };
        let cutoff = domain::reconcile::stuck_before(chrono::Utc::now(), config.reconcile_after);
        let report = reconciler.run(cutoff).await?;
        Ok::<Value, Error>(serde_json::to_value(report)?)
    }))
    .await
}
