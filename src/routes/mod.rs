//! HTTP/JSON routes: google.api.http path templates, the per-API route
//! tables, and transcoding of requests onto them. The REST transport and the
//! emulator's REST side share these tables.

pub(crate) mod template;
pub(crate) mod transcode;

use template::{PathTemplate, TemplateError};

/// One HTTP binding of an RPC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HttpRule {
    /// `GET`, `POST`, `DELETE`, ...
    pub(crate) method: String,
    pub(crate) template: PathTemplate,
    /// `*` for every field not in the path, a field name, or none.
    pub(crate) body: Option<String>,
}

impl HttpRule {
    pub(crate) fn new(
        method: &str,
        template: &str,
        body: Option<&str>,
    ) -> Result<Self, TemplateError> {
        Ok(Self {
            method: method.to_ascii_uppercase(),
            template: PathTemplate::parse(template)?,
            body: body.map(str::to_owned),
        })
    }
}
