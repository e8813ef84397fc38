//! What only the gRPC side has: server reflection, and the emulator's
//! answers to plain gRPC clients (no eeops client involved).

use std::time::Duration;

use eeops::emulator::{Emulator, OperationSpec};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn server_reflection_lists_the_operations_service() -> TestResult {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let channel = tonic::transport::Endpoint::from_shared(emulator.endpoint())?
        .connect()
        .await?;
    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await?
        .into_inner();
    let response = responses.message().await?.expect("one response");
    let services: Vec<String> = match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection response {other:?}"),
    };
    assert!(
        services.contains(&"google.longrunning.Operations".to_owned()),
        "{services:?}"
    );
    emulator.shutdown().await?;
    Ok(())
}

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
