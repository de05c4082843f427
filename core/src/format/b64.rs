//! Canonical base64url without padding (RFC 7515 §2): no `=`, no whitespace, no characters
//! outside the URL-safe alphabet, and no non-zero trailing bits (so each value has exactly
//! one encoding and two parsers cannot disagree about a token).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::mem::MaybeUninit;

/// Not canonical base64url.
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid;

/// The SIMD decoder (AVX2/SSE4.1/NEON chosen at run time) in its strict mode: the URL-safe
/// alphabet only, no padding, and zero trailing bits. The tests hold it to the base64
/// crate's strict engine.
const ENGINE: base64_simd::Base64 = base64_simd::URL_SAFE_NO_PAD;

/// Canonical base64url without padding.
pub fn decode(input: &str) -> Result<Vec<u8>, Invalid> {
    ENGINE.decode_to_vec(input).map_err(|_| Invalid)
}

/// Why [`decode_into`] failed.
#[derive(Debug, PartialEq, Eq)]
pub enum IntoError {
    /// Not canonical base64url.
    Invalid,
    /// Valid, but longer than the output buffer.
    TooLong,
}

/// Decodes into `out` (no allocation, and `out` need not be initialized: a stack buffer
/// costs no zeroing); the decoded bytes, at the start of `out`.
pub fn decode_into<'b>(input: &str, out: &'b mut [MaybeUninit<u8>]) -> Result<&'b [u8], IntoError> {
    match ENGINE.decoded_length(input.as_bytes()) {
        Err(_) => Err(IntoError::Invalid),
        Ok(len) if len > out.len() => Err(match decode(input) {
            Ok(_) => IntoError::TooLong,
            Err(_) => IntoError::Invalid,
        }),
        Ok(_) => ENGINE
            .decode(input.as_bytes(), base64_simd::Out::from_uninit_slice(out))
            .map(|decoded| &*decoded)
            .map_err(|_| IntoError::Invalid),
    }
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
        let mut buf = [MaybeUninit::uninit(); 8];
        assert_eq!(decode_into("Zm9v", &mut buf), Ok(&b"foo"[..]));
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

    /// The hand-written decoder agrees with the base64 crate's strict URL-safe engine on
    /// random strings over the alphabet and its neighbours, of every length mod 4 up to two
    /// eight-character blocks, a quad and a tail.
    #[test]
    fn agrees_with_the_base64_crate() {
        let chars = b"AQgw_-09azZ+/=. \n\x00\xff";
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let (mut ok, mut bad) = (0, 0);
        for _ in 0..50_000 {
            let len = next(30);
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if next(8) == 0 {
                        chars[next(chars.len())]
                    } else {
                        chars[next(6)]
                    }
                })
                .collect();
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            let ours = decode(text);
            let mut buf = [MaybeUninit::uninit(); 24];
            let into = decode_into(text, &mut buf).map(<[u8]>::to_vec);
            assert_eq!(
                into.ok(),
                ours.as_ref().ok().filter(|v| v.len() <= 24).cloned()
            );
            assert_eq!(
                ours.as_deref().ok(),
                URL_SAFE_NO_PAD.decode(text).as_deref().ok(),
                "{text:?}"
            );
            if ours.is_ok() {
                ok += 1;
            } else {
                bad += 1;
            }
        }
        assert!(ok > 5_000 && bad > 5_000, "{ok} decoded, {bad} refused");
    }
}
