//! Whether Earth Engine metadata that came over gRPC can be read with this
//! crate's field numbers.
//!
//! Google publishes no `.proto` for `google.earthengine.v1.OperationMetadata`:
//! its JSON names are documented, its field numbers are not, and the ones in
//! `proto/` are this project's own. Over REST the metadata arrives by name
//! and is always read right. Over gRPC it arrives as bytes numbered by the
//! server, so it is decoded only from a server that says it numbers the
//! message as this crate does — the emulator sends [`HEADER`]: [`OURS`] with
//! every gRPC reply. From any other server it is kept raw: the type URL of
//! the `Any` gets [`UNVERIFIED_METADATA_PREFIX`] in front, so that
//! [`Operation::decoded_metadata`] answers [`crate::Metadata::Undecodable`]
//! and the JSON printer shows the bytes as they came instead of misreading
//! them.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::proto::EARTH_ENGINE_METADATA_TYPE_URLS;
use crate::proto::longrunning::Operation;

/// The gRPC response header in which a server names the field numbering of
/// the Earth Engine metadata it sends.
pub(crate) const HEADER: &str = "x-eeops-metadata-numbering";

/// [`HEADER`]'s value for this crate's numbering (`proto/google/earthengine`).
pub(crate) const OURS: &str = "eeops-1";

/// Put in front of the type URL of Earth Engine metadata whose numbering is
/// not known to be this crate's.
pub const UNVERIFIED_METADATA_PREFIX: &str = "unverified-numbering:";

/// Why such metadata is not shown, in one line.
pub(crate) const EXPLANATION: &str = "Earth Engine publishes no field numbers for its task metadata, \
     so over gRPC it is read only from servers that say they use this tool's numbering \
     (the eeops emulator does); it is kept undecoded: use --transport rest to read it";

/// A reply whose Earth Engine metadata may need to be kept raw.
pub(crate) trait Reply: Sized {
    /// The reply once the rule is applied.
    type Checked;

    /// The reply from a server that numbers the metadata as this crate
    /// does (`ours`) or not.
    fn checked(self, ours: bool) -> Self::Checked;
}

impl Reply for Operation {
    type Checked = Operation;

    fn checked(mut self, ours: bool) -> Operation {
        if !ours
            && let Some(any) = &mut self.metadata
            && EARTH_ENGINE_METADATA_TYPE_URLS.contains(&any.type_url.as_str())
        {
            any.type_url.insert_str(0, UNVERIFIED_METADATA_PREFIX);
            explain_once();
        }
        self
    }
}

impl Reply for () {
    type Checked = ();

    fn checked(self, _: bool) {}
}

/// Applies the rule to a gRPC reply, given its headers: whether they name
/// this crate's numbering.
pub(crate) fn check<T: Reply>(headers: &tonic::metadata::MetadataMap, reply: T) -> T::Checked {
    // Looked up by a name made once: a text key is parsed on every lookup.
    const NAME: http::HeaderName = http::HeaderName::from_static(HEADER);
    let headers: &http::HeaderMap = headers.as_ref();
    let ours = headers
        .get(NAME)
        .is_some_and(|value| value.as_bytes() == OURS.as_bytes());
    reply.checked(ours)
}

/// The original type URL of metadata kept raw by this rule.
pub(crate) fn unverified(type_url: &str) -> Option<&str> {
    type_url.strip_prefix(UNVERIFIED_METADATA_PREFIX)
}

/// Says why, once per process, at the info level (`-v`).
fn explain_once() {
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        tracing::info!("{EXPLANATION}");
    }
}
