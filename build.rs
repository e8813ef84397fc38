//! Compiles the protos in `proto/` with the pure-Rust `protox` compiler (no
//! `protoc` needed), then generates prost messages and tonic stubs from the
//! resulting descriptor set, which is also kept for the JSON mapping and for
//! gRPC server reflection.

use std::path::PathBuf;

use prost::Message;

const PROTOS: &[&str] = &[
    "proto/google/longrunning/operations.proto",
    "proto/google/rpc/status.proto",
    "proto/google/rpc/code.proto",
    "proto/google/rpc/error_details.proto",
    "proto/google/earthengine/v1/operation_metadata.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let descriptors = protox::compile(PROTOS, ["proto"])?;
    std::fs::write(
        out_dir.join("eeops_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .emit_rerun_if_changed(false)
        .compile_fds(descriptors)?;
    Ok(())
}
