//! HTTP/JSON routes: google.api.http path templates and the per-API route
//! tables that the REST transport and the emulator's REST side share.

pub(crate) mod template;
