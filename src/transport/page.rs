//! A page of a listing as a transport read it. Over gRPC its operations
//! arrive decoded with the reply. Over REST they are read from the reply's
//! text one at a time, as they are asked for: a listing then holds one
//! operation at a time rather than a page of them, which is faster, and
//! its first operation is ready sooner.

use std::sync::Arc;

use bytes::Bytes;
use prost::Name;

use super::json_reply::{invalid_reply, is_empty, not_text};
use crate::error::{Error, Result};
use crate::json::{JsonError, PageEnd, PageReader};
use crate::proto::longrunning::{ListOperationsResponse, Operation};

/// One page of a listing: its operations to be read, then its token.
#[derive(Debug)]
pub(crate) struct Page(Read);

#[derive(Debug)]
enum Read {
    Decoded {
        operations: std::vec::IntoIter<Operation>,
        end: PageEnd,
    },
    Json {
        reader: PageReader,
        /// Who sent the page, for errors.
        base: Arc<str>,
    },
}

impl Page {
    /// A page whose operations are decoded already.
    pub(crate) fn decoded(page: ListOperationsResponse) -> Self {
        Self(Read::Decoded {
            operations: page.operations.into_iter(),
            end: PageEnd {
                next_page_token: page.next_page_token,
                unreachable: page.unreachable,
            },
        })
    }

    /// A page from a REST reply's body (an empty body is an empty page),
    /// read up to its first operation.
    pub(crate) fn from_json(body: Bytes, base: &Arc<str>) -> Result<Self> {
        if is_empty(&body) {
            return Ok(Self::decoded(ListOperationsResponse::default()));
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
            Read::Decoded { operations, .. } => operations.next().map(Ok),
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
            Read::Decoded { end, .. } => Ok(std::mem::take(end)),
            Read::Json { reader, base } => reader
                .finish()
                .map_err(|error| invalid_page(base, reader.text(), &error)),
        }
    }

    /// The whole page, every operation read.
    pub(crate) fn into_response(mut self) -> Result<ListOperationsResponse> {
        let mut operations = Vec::new();
        while let Some(operation) = self.next_operation() {
            operations.push(operation?);
        }
        let end = self.finish()?;
        Ok(ListOperationsResponse {
            operations,
            next_page_token: end.next_page_token,
            unreachable: end.unreachable,
        })
    }
}

fn invalid_page(base: &str, text: &str, error: &JsonError) -> Error {
    invalid_reply(&ListOperationsResponse::full_name(), base, text, error)
}
