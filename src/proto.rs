//! The one home of generated code and of its public names.
//!
//! `build.rs` compiles `proto/` into prost messages and tonic stubs, included
//! below under [`google`]. The messages users need are named publicly by
//! [`longrunning`], [`rpc`] and [`earthengine`] (re-exported at the crate
//! root); the tonic stubs stay private so that no transport type leaks into
//! the public API. Code inside the crate imports messages from here, for
//! example `crate::proto::rpc::Code`.

/// Generated code, as `build.rs` wrote it.
#[allow(
    missing_docs,
    dead_code,
    clippy::all,
    clippy::pedantic,
    unreachable_pub
)]
pub(crate) mod google {
    pub(crate) mod longrunning {
        include!(concat!(env!("OUT_DIR"), "/google.longrunning.rs"));
    }
    pub(crate) mod rpc {
        include!(concat!(env!("OUT_DIR"), "/google.rpc.rs"));
    }
    pub(crate) mod api {
        include!(concat!(env!("OUT_DIR"), "/google.api.rs"));
    }
    pub(crate) mod earthengine {
        pub(crate) mod v1 {
            include!(concat!(env!("OUT_DIR"), "/google.earthengine.v1.rs"));
        }
    }
}

/// The encoded `FileDescriptorSet` of every proto in `proto/` and its imports.
pub(crate) const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/eeops_descriptor.bin"));

/// The type URLs under which Earth Engine sends [`earthengine::OperationMetadata`]; the
/// message is the same in every API version.
pub const EARTH_ENGINE_METADATA_TYPE_URLS: [&str; 3] = [
    "type.googleapis.com/google.earthengine.v1.OperationMetadata",
    "type.googleapis.com/google.earthengine.v1beta.OperationMetadata",
    "type.googleapis.com/google.earthengine.v1alpha.OperationMetadata",
];

/// `google.longrunning` messages.
pub mod longrunning {
    pub use super::google::longrunning::{
        CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, ListOperationsRequest,
        ListOperationsResponse, Operation, OperationInfo, WaitOperationRequest, operation,
    };
}

/// `google.rpc` messages: the status, its codes and the standard details.
pub mod rpc {
    pub use super::google::rpc::{
        BadRequest, Code, DebugInfo, ErrorInfo, Help, LocalizedMessage, PreconditionFailure,
        QuotaFailure, RequestInfo, ResourceInfo, RetryInfo, Status, bad_request, help,
        precondition_failure, quota_failure,
    };
}

/// Earth Engine's task metadata (`google.earthengine.v1.OperationMetadata`,
/// also sent as v1beta and v1alpha).
pub mod earthengine {
    pub use super::google::earthengine::v1::operation_metadata::State;
    pub use super::google::earthengine::v1::operation_notification::Severity;
    pub use super::google::earthengine::v1::{
        OperationMetadata, OperationNotification, OperationStage,
    };
}
