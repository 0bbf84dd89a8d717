use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    adapters::telemetry::init();
    let wiring = csv_parser::Wiring::from_env().await?;
    let wiring = &wiring;
    run(service_fn(move |event: LambdaEvent<S3Event>| async move {
        let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
        let _guard = span.enter();
        let outcomes = wiring.parser().handle(&event.payload).await?;
        tracing::info!(records = outcomes.len(), "event handled");
        Ok::<(), Error>(())
    }))
    .await
}
