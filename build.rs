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
    println!("cargo:rustc-env=EEOPS_RUSTC_VERSION={}", rustc_version());

    let descriptors = protox::compile(PROTOS, ["proto"])?;
    std::fs::write(
        out_dir.join("eeops_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    // Messages implement `prost::Name`: the crate takes their full names
    // from there instead of writing them by hand.
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    // Earth Engine can add task states and notification severities; users'
    // matches must not break when the protos learn them.
    for open_enum in [
        ".google.earthengine.v1.OperationMetadata.State",
        ".google.earthengine.v1.OperationNotification.Severity",
    ] {
        config.enum_attribute(open_enum, "#[non_exhaustive]");
    }
    // Server stubs only for the emulator, so that a library user compiles
    // no gRPC server code.
    let emulator = std::env::var_os("CARGO_FEATURE_EMULATOR").is_some();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(emulator)
        .emit_rerun_if_changed(false)
        // Clients are built over the crate's own HTTP/2 channel, not tonic's.
        .build_transport(false)
        // Prost's encoding with buffers sized to the message (see the module).
        .codec_path("crate::transport::codec::ProtoCodec")
        .compile_fds_with_config(descriptors, config)?;
    Ok(())
}

/// The compiler's version (`1.95.0`), for the `x-goog-api-client` header.
fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}
