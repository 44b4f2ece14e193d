//! The error of conversions to `http` types.

use std::fmt;

/// A value that the `http` types cannot hold (or that ours cannot): the conversion fails
/// rather than drop or alter it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConvertError {
    /// A header name that is not a valid HTTP token, or a value with control bytes.
    InvalidHeader {
        /// The header's name, as given.
        name: String,
    },
    /// A request target or URI that `http::Uri` refuses.
    InvalidUri(String),
    /// A head the core wrote that is not valid HTTP (a bug: please report it).
    InvalidHead(&'static str),
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConvertError::InvalidHeader { name } => {
                write!(f, "header {name:?} is not a valid HTTP header")
            }
            ConvertError::InvalidUri(uri) => write!(f, "{uri:?} is not a valid request target"),
            ConvertError::InvalidHead(why) => write!(f, "invalid HTTP head: {why}"),
        }
    }
}

impl std::error::Error for ConvertError {}
