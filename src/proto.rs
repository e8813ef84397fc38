//! The one place generated code enters the crate.
//!
//! `build.rs` compiles `proto/` into prost messages and tonic stubs. The
//! messages are re-exported publicly from [`crate::longrunning`],
//! [`crate::rpc`] and [`crate::earthengine`]; the tonic stubs stay private so
//! that no transport type leaks into the public API.

#![allow(
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
