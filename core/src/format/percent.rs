//! RFC 3986 percent-encoding: the two hex digits after a `%`.

/// The byte `%XY` stands for, when `hex` is exactly two hex digits (not `+a`, which
/// `u8::from_str_radix` would take).
pub(crate) fn hex_pair(hex: &[u8]) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16);
    match hex {
        [high, low] => Some((digit(*high)? * 16 + digit(*low)?) as u8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_two_hex_digits_are_a_byte() {
        // The reference: every pair of bytes against from_str_radix on hex-digit pairs.
        for high in 0..=255u8 {
            for low in 0..=255u8 {
                let both = high.is_ascii_hexdigit() && low.is_ascii_hexdigit();
                let want = both
                    .then(|| u8::from_str_radix(std::str::from_utf8(&[high, low]).ok()?, 16).ok())
                    .flatten();
                assert_eq!(hex_pair(&[high, low]), want, "{high:#x} {low:#x}");
            }
        }
        for short in [&b""[..], b"a", b"abc"] {
            assert_eq!(hex_pair(short), None);
        }
        assert_eq!(hex_pair(b"+a"), None);
        assert_eq!(hex_pair(b"0A"), Some(10));
    }
}
