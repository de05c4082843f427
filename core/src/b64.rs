//! Canonical base64url without padding (RFC 7515 §2): no `=`, no whitespace, no characters
//! outside the URL-safe alphabet, and no non-zero trailing bits (so each value has exactly
//! one encoding and two parsers cannot disagree about a token).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub fn decode(input: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(input)
}

/// Why [`decode_into`] failed.
#[derive(Debug, PartialEq, Eq)]
pub enum IntoError {
    /// Not canonical base64url.
    Invalid,
    /// Valid, but longer than the output buffer.
    TooLong,
}

/// Decodes into `out` (no allocation); the number of bytes written.
pub fn decode_into(input: &str, out: &mut [u8]) -> Result<usize, IntoError> {
    if input.len() / 4 * 3 + 3 > out.len() {
        return Err(match URL_SAFE_NO_PAD.decode(input) {
            Ok(_) => IntoError::TooLong,
            Err(_) => IntoError::Invalid,
        });
    }
    URL_SAFE_NO_PAD
        .decode_slice(input, out)
        .map_err(|_| IntoError::Invalid)
}

pub fn encode(input: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict() {
        assert_eq!(decode("Zm9v").unwrap(), b"foo");
        assert!(decode("Zm9v=").is_err());
        assert!(decode("Zm8=").is_err());
        assert_eq!(decode("Zm8").unwrap(), b"fo");
        assert!(decode("Zm9 v").is_err());
        assert!(decode("Zm+v").is_err());
        assert!(decode("Zm/v").is_err());
        // "Zm9" differs from "Zm8" only in the unused low bits of the last character.
        assert!(decode("Zm9").is_err());
        assert!(decode("Z").is_err());
        let mut buf = [0u8; 8];
        assert_eq!(decode_into("Zm9v", &mut buf), Ok(3));
        assert_eq!(decode_into("Zm9", &mut buf), Err(IntoError::Invalid));
        assert_eq!(
            decode_into("Zm9vZm9vZm9v", &mut buf),
            Err(IntoError::TooLong)
        );
        assert_eq!(
            decode_into("Zm9vZm9vZm9=", &mut buf),
            Err(IntoError::Invalid)
        );
    }
}
