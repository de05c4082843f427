//! Canonical base64url without padding (RFC 7515 §2): no `=`, no whitespace, no characters
//! outside the URL-safe alphabet, and no non-zero trailing bits (so each value has exactly
//! one encoding and two parsers cannot disagree about a token).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub fn decode(input: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(input)
}

#[cfg(test)]
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
    }
}
