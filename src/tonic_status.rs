//! [`Error`] as a [`tonic::Status`], for services built on tonic that call
//! eeops and pass its errors on, and back.
//!
//! The code and message carry over as they are, and the details travel in
//! `grpc-status-details-bin` as an encoded `google.rpc.Status`, as gRPC
//! servers send them, so a caller of the service sees the same `RetryInfo`,
//! `ErrorInfo` or `BadRequest` the Operations service sent. What the client
//! was doing (the `while ...` of `Display`) is left out: it describes this
//! process's call, not the service's answer.
//!
//! The crate docs show a handler using it ("Calling from a tonic service").

use prost::Message;

use crate::error::Error;

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        tonic::Status::from(&error)
    }
}

impl From<&Error> for tonic::Status {
    fn from(error: &Error) -> Self {
        // Both enums are gRPC's canonical codes, numbered alike.
        let code = tonic::Code::from_i32(error.code() as i32);
        if error.details().is_empty() {
            return tonic::Status::new(code, error.message());
        }
        let details = error.to_status().encode_to_vec();
        tonic::Status::with_details(code, error.message(), details.into())
    }
}

impl From<tonic::Status> for Error {
    /// The code, the message and the details a status carries in
    /// `grpc-status-details-bin` (kept as they came when they cannot be
    /// read as a `google.rpc.Status`, as an unknown detail).
    fn from(status: tonic::Status) -> Self {
        let code = crate::proto::rpc::Code::try_from(status.code() as i32)
            .unwrap_or(crate::proto::rpc::Code::Unknown);
        let error = Error::new(code, status.message());
        if status.details().is_empty() {
            return error;
        }
        match crate::proto::rpc::Status::decode(status.details()) {
            Ok(sent) => sent.details.into_iter().fold(error, |error, any| {
                error.with_detail(crate::error::Detail::from_any(any))
            }),
            Err(_) => error.with_detail(crate::error::Detail::Other(prost_types::Any {
                type_url: String::new(),
                value: status.details().to_vec(),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Detail;
    use crate::proto::rpc::{Code, ErrorInfo, RetryInfo, Status};

    use super::*;

    #[test]
    fn code_message_and_details_reach_the_status() {
        let error = Error::new(Code::ResourceExhausted, "quota exceeded")
            .with_detail(Detail::RetryInfo(RetryInfo {
                retry_delay: Some(prost_types::Duration {
                    seconds: 3,
                    nanos: 0,
                }),
            }))
            .with_detail(Detail::ErrorInfo(ErrorInfo {
                reason: "RATE_LIMIT_EXCEEDED".into(),
                domain: "earthengine.googleapis.com".into(),
                metadata: Default::default(),
            }))
            .with_action("getting an operation");
        let status = tonic::Status::from(error.clone());
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(status.message(), "quota exceeded");
        let sent = Status::decode(status.details()).expect("details are a google.rpc.Status");
        assert_eq!(sent, error.to_status());
        assert_eq!(Error::from_status(sent).details(), error.details());
        let back = Error::from(status);
        assert_eq!(
            (back.code(), back.message(), back.details()),
            (error.code(), error.message(), error.details())
        );
    }

    #[test]
    fn every_code_keeps_its_number() {
        for number in 0..=16 {
            let code = Code::try_from(number).expect("a canonical code");
            let status = tonic::Status::from(Error::new(code, "m"));
            assert_eq!(status.code() as i32, number, "{code:?}");
            assert!(status.details().is_empty());
        }
    }
}
