//! What only the gRPC side has: the emulator's answers to plain gRPC clients
//! (no eeops client involved). Server reflection is checked in
//! `emulator_auth`, where it must also work without a token.

use std::time::Duration;

use eeops::emulator::{Emulator, OperationSpec};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn a_plain_grpc_wait_longer_than_its_deadline_gets_the_latest_state() -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let live = emulator.create(OperationSpec::new("p").running_until_cancelled())?;
    // A plain gRPC client asking the server to wait 60 s with a 3 s
    // deadline gets the latest state back, not an expired call.
    let channel = tonic::transport::Endpoint::from_shared(emulator.endpoint())?
        .connect()
        .await?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await?;
    let mut request = tonic::Request::new(eeops::longrunning::WaitOperationRequest {
        name: live.clone(),
        timeout: Some(prost_types::Duration {
            seconds: 60,
            nanos: 0,
        }),
    });
    request.set_timeout(Duration::from_secs(3));
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/google.longrunning.Operations/WaitOperation",
    );
    let codec = tonic_prost::ProstCodec::<
        eeops::longrunning::WaitOperationRequest,
        eeops::longrunning::Operation,
    >::default();
    let reply = grpc.unary(request, path, codec).await?.into_inner();
    assert_eq!(reply.name, live);
    assert!(!reply.done);
    emulator.shutdown().await?;
    Ok(())
}
