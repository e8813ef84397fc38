//! The protobuf codec of the generated stubs, client and server alike.
//!
//! It encodes and decodes with prost exactly as tonic's stock codec does;
//! only the buffers differ. The stock codec starts every call with an
//! 8 KiB buffer to encode into and another to decode into, sized for
//! streams. Operations calls are unary and mostly a few hundred bytes, and
//! two large allocations per call were a measurable share of a Get's cost.
//! Here the encode buffer starts small and grows once to the message's
//! exact size when the message is larger; the decode buffer grows to the
//! size the frame header announces (tonic reserves it), so it starts small
//! too.

use std::marker::PhantomData;

use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// Room for a typical request or single operation, so that most calls
/// allocate each buffer once.
const INITIAL_BUFFER_BYTES: usize = 512;

/// Only streams batch messages up to this size; unary calls never reach it.
/// The value is tonic's default.
const YIELD_THRESHOLD_BYTES: usize = 32 * 1024;

fn buffer_settings() -> BufferSettings {
    BufferSettings::new(INITIAL_BUFFER_BYTES, YIELD_THRESHOLD_BYTES)
}

/// A [`Codec`] for `application/grpc+proto` that sizes its buffers to the
/// message. Named by `build.rs` as the codec of every generated service.
#[derive(Debug)]
pub(crate) struct ProtoCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for ProtoCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for ProtoCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProtoEncoder<T>;
    type Decoder = ProtoDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProtoEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProtoDecoder(PhantomData)
    }
}

/// Encodes one message after reserving its exact size.
#[derive(Debug)]
pub(crate) struct ProtoEncoder<T>(PhantomData<T>);

impl<T: Message> Encoder for ProtoEncoder<T> {
    type Item = T;
    type Error = Status;

    fn encode(&mut self, item: T, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.reserve(item.encoded_len());
        item.encode(buf)
            .map_err(|error| Status::internal(format!("encoding a message failed: {error}")))
    }

    fn buffer_settings(&self) -> BufferSettings {
        buffer_settings()
    }
}

/// Decodes one message; malformed bytes are INTERNAL, as gRPC's own
/// implementations answer them.
#[derive(Debug)]
pub(crate) struct ProtoDecoder<U>(PhantomData<U>);

impl<U: Message + Default> Decoder for ProtoDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf).map(Some).map_err(|error| {
            // The cause marks the failure as the client's reading of a
            // reply, not a status the server sent.
            let mut status = Status::internal(format!("decoding a message failed: {error}"));
            status.set_source(std::sync::Arc::new(error));
            status
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        buffer_settings()
    }
}
