use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    adapters::telemetry::init();
    let wiring = error_processor::Wiring::from_env().await?;
    let wiring = &wiring;
    run(service_fn(move |event: LambdaEvent<Event>| async move {
        let span = tracing::info_span!(
            "invocation",
            request_id = %event.context.request_id,
            records = event.payload.records.len()
        );
        Ok::<DynamoDbEventResponse, Error>(wiring.handle(&event.payload).instrument(span).await)
    }))
    .await
}
