//! Where a token may be found in a request ([`TokenSource`]): configuration data, below
//! both the configuration (which holds a list of them) and the extraction (which reads
//! them), so that neither imports the other for it.

use serde::{Deserialize, Serialize};

/// The `Authorization` header, lowercase (headers are compared case-insensitively).
pub(crate) const AUTHORIZATION: &str = "authorization";

/// One place to look for a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TokenSource {
    /// A header. With `scheme`, the value must be `<scheme> <token>` (scheme compared
    /// case-insensitively; another scheme counts as absent). With `prefix`, that exact
    /// prefix is trimmed. With neither, the whole value is the token.
    Header {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scheme: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
    /// A cookie of this name.
    Cookie { name: String },
    /// A query parameter of this name.
    Query { name: String },
}

impl TokenSource {
    /// `Authorization: Bearer <token>`, the default and only source unless configured.
    pub fn bearer() -> TokenSource {
        TokenSource::Header {
            name: AUTHORIZATION.into(),
            scheme: Some("Bearer".into()),
            prefix: None,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        match self {
            TokenSource::Header {
                name,
                scheme,
                prefix,
            } => {
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
                {
                    return Err(format!(
                        "header name {name:?} is not a valid HTTP header name"
                    ));
                }
                if scheme.is_some() && prefix.is_some() {
                    return Err("a header source takes \"scheme\" or \"prefix\", not both".into());
                }
                if scheme
                    .as_deref()
                    .is_some_and(|s| s.is_empty() || s.contains(' '))
                {
                    return Err("\"scheme\" must be one word, such as Bearer".into());
                }
                Ok(())
            }
            TokenSource::Cookie { name } | TokenSource::Query { name } if name.is_empty() => {
                Err("a cookie or query source needs a non-empty \"name\"".into())
            }
            _ => Ok(()),
        }
    }
}
