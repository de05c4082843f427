//! Canonical base64url without padding (RFC 7515 §2): no `=`, no whitespace, no characters
//! outside the URL-safe alphabet, and no non-zero trailing bits (so each value has exactly
//! one encoding and two parsers cannot disagree about a token).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Not canonical base64url.
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid;

const BAD: u8 = 0xff;

/// The value of each base64url character; [`BAD`] for every other byte.
static VALUES: [u8; 256] = {
    let mut t = [BAD; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// The decoded length of `n` characters; `None` for a length no encoding has.
fn decoded_len(n: usize) -> Option<usize> {
    match n % 4 {
        1 => None,
        rem => Some(n / 4 * 3 + rem.saturating_sub(1)),
    }
}

/// Decodes `input` into `out[..decoded_len]` (hand-written: it runs three times per
/// verification, and the table lookup is several times faster than a general engine).
fn decode_slice(input: &[u8], out: &mut [u8]) -> Result<usize, Invalid> {
    let len = decoded_len(input.len()).ok_or(Invalid)?;
    let out = out.get_mut(..len).ok_or(Invalid)?;
    let quads = input.chunks_exact(4);
    let tail = quads.remainder();
    let whole = input.len() / 4 * 3;
    // Errors are collected over the whole input, not branched on per quad.
    let mut bad = 0u8;
    for (quad, dst) in quads.zip(out[..whole].chunks_exact_mut(3)) {
        let [a, b, c, d] = [quad[0], quad[1], quad[2], quad[3]].map(|x| VALUES[x as usize]);
        // Values are 6 bits; BAD has the top bits set.
        bad |= a | b | c | d;
        let v = (a as u32) << 18 | (b as u32) << 12 | (c as u32) << 6 | d as u32;
        dst.copy_from_slice(&v.to_be_bytes()[1..]);
    }
    if bad & 0xc0 != 0 {
        return Err(Invalid);
    }
    let o = whole;
    match *tail {
        [] => {}
        [a, b] | [a, b, _] if (VALUES[a as usize] | VALUES[b as usize]) & 0xc0 != 0 => {
            return Err(Invalid)
        }
        [a, b] => {
            let (a, b) = (VALUES[a as usize], VALUES[b as usize]);
            // Canonical: the bits past the last whole byte must be zero.
            if b & 0x0f != 0 {
                return Err(Invalid);
            }
            out[o] = a << 2 | b >> 4;
        }
        [a, b, c] => {
            let [a, b, c] = [a, b, c].map(|x| VALUES[x as usize]);
            if c & 0xc0 != 0 || c & 0x03 != 0 {
                return Err(Invalid);
            }
            out[o] = a << 2 | b >> 4;
            out[o + 1] = b << 4 | c >> 2;
        }
        _ => return Err(Invalid),
    }
    Ok(len)
}

/// Canonical base64url without padding.
pub fn decode(input: &str) -> Result<Vec<u8>, Invalid> {
    let mut out = vec![0; decoded_len(input.len()).ok_or(Invalid)?];
    decode_slice(input.as_bytes(), &mut out)?;
    Ok(out)
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
    match decoded_len(input.len()) {
        None => Err(IntoError::Invalid),
        Some(len) if len > out.len() => Err(match decode(input) {
            Ok(_) => IntoError::TooLong,
            Err(_) => IntoError::Invalid,
        }),
        Some(_) => decode_slice(input.as_bytes(), out).map_err(|_| IntoError::Invalid),
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

    /// The hand-written decoder agrees with the base64 crate's strict URL-safe engine on
    /// random strings over the alphabet and its neighbours, of every length mod 4.
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
            let len = next(14);
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
