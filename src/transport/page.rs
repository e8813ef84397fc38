//! A page of a listing as a transport read it. Its operations are decoded
//! one at a time, as they are asked for, from the reply's text (REST) or
//! bytes (gRPC): a listing then holds one operation at a time rather than
//! a page of them, which is faster, and its first operation is ready
//! sooner.

use std::sync::Arc;

use bytes::Bytes;
use prost::{Message, Name};

use super::failure::undecodable_reply;
use super::json_reply::{invalid_reply, is_empty, not_text};
use crate::error::{Error, Result};
use crate::json::{JsonError, PageEnd, PageReader};
use crate::metadata_numbering::Reply;
use crate::proto::longrunning::{ListOperationsResponse, Operation};

/// `google.longrunning.ListOperationsResponse` with each operation kept as
/// its bytes. A length-delimited field reads the same whether it holds a
/// message or bytes, so a reply decodes as this as well as the generated
/// type: into slices of the reply's buffer, not a thousand operations.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct EncodedPage {
    #[prost(bytes = "bytes", repeated, tag = "1")]
    pub(crate) operations: Vec<Bytes>,
    #[prost(string, tag = "2")]
    pub(crate) next_page_token: String,
    #[prost(string, repeated, tag = "3")]
    pub(crate) unreachable: Vec<String>,
}

/// Whether the server numbers Earth Engine metadata as this crate does is
/// applied to each operation as it is decoded.
impl Reply for EncodedPage {
    type Checked = (EncodedPage, bool);

    fn checked(self, ours: bool) -> (EncodedPage, bool) {
        (self, ours)
    }
}

/// One page of a listing: its operations to be read, then its token.
#[derive(Debug)]
pub(crate) struct Page(Read);

#[derive(Debug)]
enum Read {
    Encoded {
        operations: std::iter::Enumerate<std::vec::IntoIter<Bytes>>,
        end: PageEnd,
        /// Whether the server numbers Earth Engine metadata as this crate.
        numbering_ours: bool,
        /// Who sent the page, for errors.
        endpoint: Arc<str>,
    },
    Json {
        reader: PageReader,
        /// Who sent the page, for errors.
        base: Arc<str>,
    },
}

impl Page {
    /// A page from a gRPC reply, its operations still bytes.
    pub(crate) fn encoded(page: EncodedPage, numbering_ours: bool, endpoint: Arc<str>) -> Self {
        Self(Read::Encoded {
            operations: page.operations.into_iter().enumerate(),
            end: PageEnd {
                next_page_token: page.next_page_token,
                unreachable: page.unreachable,
            },
            numbering_ours,
            endpoint,
        })
    }

    /// A page from a REST reply's body (an empty body is an empty page),
    /// read up to its first operation.
    pub(crate) fn from_json(body: Bytes, base: &Arc<str>) -> Result<Self> {
        if is_empty(&body) {
            return Ok(Self::encoded(
                EncodedPage::default(),
                true,
                Arc::clone(base),
            ));
        }
        let text = String::from_utf8(Vec::from(body)).map_err(|_| not_text(base))?;
        match PageReader::new(text) {
            Ok(reader) => Ok(Self(Read::Json {
                reader,
                base: Arc::clone(base),
            })),
            Err((error, text)) => Err(invalid_page(base, &text, &error)),
        }
    }

    /// The page's next operation; `None` after the last, or after an
    /// operation that cannot be read.
    pub(crate) fn next_operation(&mut self) -> Option<Result<Operation>> {
        match &mut self.0 {
            Read::Encoded {
                operations,
                numbering_ours,
                endpoint,
                ..
            } => {
                let (index, bytes) = operations.next()?;
                Some(match Operation::decode(bytes) {
                    Ok(operation) => Ok(operation.checked(*numbering_ours)),
                    Err(error) => {
                        // Nothing after an operation that cannot be read.
                        *operations = Vec::new().into_iter().enumerate();
                        Err(undecodable_reply(
                            endpoint,
                            &format!("operations[{index}]: {error}"),
                        ))
                    }
                })
            }
            Read::Json { reader, base } => {
                let read = reader.next_operation()?;
                Some(read.map_err(|error| invalid_page(base, reader.text(), &error)))
            }
        }
    }

    /// The page's token and `unreachable`, once its operations are read
    /// (any left are read first).
    pub(crate) fn finish(&mut self) -> Result<PageEnd> {
        match &mut self.0 {
            Read::Encoded { end, .. } => Ok(std::mem::take(end)),
            Read::Json { reader, base } => reader
                .finish()
                .map_err(|error| invalid_page(base, reader.text(), &error)),
        }
    }

    /// The whole page, every operation read.
    pub(crate) fn into_response(mut self) -> Result<ListOperationsResponse> {
        let operations = std::iter::from_fn(|| self.next_operation()).collect::<Result<_>>()?;
        Ok(self.finish()?.with_operations(operations))
    }
}

fn invalid_page(base: &str, text: &str, error: &JsonError) -> Error {
    invalid_reply(&ListOperationsResponse::full_name(), base, text, error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::EARTH_ENGINE_METADATA_TYPE_URLS;
    use crate::proto::rpc::Code;

    fn operation(name: &str) -> Operation {
        Operation {
            name: name.to_owned(),
            metadata: Some(prost_types::Any {
                type_url: EARTH_ENGINE_METADATA_TYPE_URLS[0].to_owned(),
                value: vec![8, 2],
            }),
            ..Operation::default()
        }
    }

    fn all(page: &mut Page) -> Vec<Result<Operation>> {
        std::iter::from_fn(|| page.next_operation()).collect()
    }

    #[test]
    fn a_page_on_the_wire_reads_as_the_generated_type_reads_it() {
        let whole = ListOperationsResponse {
            operations: vec![operation("a"), Operation::default(), operation("c")],
            next_page_token: "next".to_owned(),
            unreachable: vec!["projects/x".to_owned()],
        };
        let encoded = EncodedPage::decode(whole.encode_to_vec().as_slice()).expect("decodes");
        let page = Page::encoded(encoded, true, Arc::from("http://127.0.0.1:1"));
        assert_eq!(page.into_response().expect("every operation reads"), whole);
    }

    #[test]
    fn metadata_of_a_server_of_another_numbering_is_marked_as_each_operation_is_read() {
        let whole = ListOperationsResponse {
            operations: vec![operation("a")],
            ..ListOperationsResponse::default()
        };
        let encoded = EncodedPage::decode(whole.encode_to_vec().as_slice()).expect("decodes");
        let mut page = Page::encoded(encoded.clone(), false, Arc::from("http://127.0.0.1:1"));
        let read = page.next_operation().expect("one").expect("reads");
        let type_url = read.metadata.map(|any| any.type_url).unwrap_or_default();
        assert!(
            crate::metadata_numbering::unverified(&type_url).is_some(),
            "{type_url}"
        );
        let mut ours = Page::encoded(encoded, true, Arc::from("http://127.0.0.1:1"));
        assert_eq!(
            ours.next_operation().expect("one").expect("reads"),
            operation("a")
        );
    }

    #[test]
    fn an_operation_that_cannot_be_decoded_ends_the_page_where_it_is() {
        let encoded = EncodedPage {
            operations: vec![
                Bytes::from(operation("a").encode_to_vec()),
                // A field whose length runs past the end.
                Bytes::from_static(&[0x0a, 0x7f, b'x']),
                Bytes::from(operation("c").encode_to_vec()),
            ],
            next_page_token: "next".to_owned(),
            unreachable: Vec::new(),
        };
        let mut page = Page::encoded(encoded, true, Arc::from("http://127.0.0.1:1"));
        let read = all(&mut page);
        assert_eq!(read.len(), 2, "{read:?}");
        assert_eq!(read[0].as_ref().ok(), Some(&operation("a")));
        let error = read[1].as_ref().expect_err("undecodable");
        assert_eq!(error.code(), Code::Internal);
        let message = error.to_string();
        assert!(
            message.contains("operations[1]") && message.contains("http://127.0.0.1:1"),
            "{message}"
        );
    }
}
