//! What both JSON readers share: how unknown fields are treated, and the
//! error that names where a document went wrong.

/// How unknown fields are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseMode {
    /// Unknown fields and enum names are ignored, as a client must do with
    /// responses from newer servers.
    Lenient,
    /// Unknown fields are an error.
    Strict,
}

/// Why a JSON document is not the message it should be; names where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    path: String,
    message: String,
}

impl JsonError {
    pub(crate) fn at(path: &str, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn at_root(message: impl Into<String>) -> Self {
        Self::at("", message)
    }

    /// Where (a path of keys and indices, empty for the whole document) and
    /// what.
    pub(crate) fn into_parts(self) -> (String, String) {
        (self.path, self.message)
    }
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "at {}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for JsonError {}
