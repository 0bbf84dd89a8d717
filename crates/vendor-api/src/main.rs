use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    adapters::telemetry::init();
    let wiring = vendor_api::Wiring::from_env().await?;
    let wiring = &wiring;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(wiring.api().handle(&request).await)
    }))
    .await
}
