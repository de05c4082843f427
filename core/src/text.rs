//! Small helpers for putting untrusted text into messages safely.

/// At most `max` characters of `s`, with control characters (CR, LF, NUL, ...) escaped, so
/// that attacker-chosen text can go into an error message or a log line.
pub fn clip(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Bytes that passed the strict JSON scanner (so valid UTF-8) as text. Checked again, not
/// assumed: a scanner bug must not become undefined behaviour.
pub(crate) fn checked_utf8(bytes: Vec<u8>) -> String {
    utf8_string(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Whether every byte is below 0x80. One OR over the bytes, which the compiler vectorizes:
/// about half the time of a full UTF-8 check on a 300-byte token (16 against 31 ns).
#[inline]
fn is_ascii(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |all, b| all | b) < 0x80
}

/// [`std::str::from_utf8`] with ASCII, what tokens and their JSON almost always are, settled
/// by [`is_ascii`]. For the bindings, whose tokens arrive as bytes.
#[doc(hidden)]
pub fn utf8_str(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    if is_ascii(bytes) {
        // SAFETY: ASCII is valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes)
    }
}

/// [`String::from_utf8`] as [`utf8_str`] does it.
#[doc(hidden)]
pub fn utf8_string(bytes: Vec<u8>) -> Result<String, std::string::FromUtf8Error> {
    if is_ascii(&bytes) {
        // SAFETY: ASCII is valid UTF-8.
        Ok(unsafe { String::from_utf8_unchecked(bytes) })
    } else {
        String::from_utf8(bytes)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utf8_agrees_with_std_on_ascii_multibyte_and_invalid_bytes() {
        let cases: [&[u8]; 7] = [
            b"",
            b"eyJhbGciOiJIUzI1NiJ9.e30.sig",
            "caf\u{e9} \u{1F600}".as_bytes(),
            b"\x7f\x00ascii edges",
            b"bad \xff byte",
            b"\xc3",                   // a truncated two-byte sequence
            b"\xed\xa0\x80 surrogate", // UTF-8 of a lone surrogate
        ];
        for bytes in cases {
            let expected = std::str::from_utf8(bytes).ok();
            assert_eq!(super::utf8_str(bytes).ok(), expected, "{bytes:?}");
            let owned = super::utf8_string(bytes.to_vec()).ok();
            assert_eq!(owned.as_deref(), expected, "{bytes:?}");
        }
        // Past any vector width, a non-ASCII byte late in the input still counts.
        let mut long = vec![b'a'; 300];
        long[299] = 0x80;
        assert!(super::utf8_str(&long).is_err());
        long[299] = b'z';
        assert!(super::utf8_str(&long).is_ok());
    }

    /// The fold is vectorized by the compiler in chunks with a scalar tail: one high byte
    /// at any position of any length, chunk or tail, must send the input to the full check.
    #[test]
    fn one_high_byte_anywhere_is_seen() {
        for len in 1..=140 {
            let mut bytes = vec![b'x'; len];
            for at in 0..len {
                for high in [0x80, 0xc3, 0xff] {
                    bytes[at] = high;
                    let expected = std::str::from_utf8(&bytes).ok();
                    assert_eq!(super::utf8_str(&bytes).ok(), expected, "len {len} at {at}");
                    assert!(expected.is_none(), "a lone {high:#x} is never valid");
                }
                bytes[at] = 0xc3; // followed by 0xa9: é, valid, but not ASCII
                if at + 1 < len {
                    bytes[at + 1] = 0xa9;
                    assert_eq!(super::utf8_str(&bytes).ok().map(str::len), Some(len));
                    bytes[at + 1] = b'x';
                }
                bytes[at] = b'x';
            }
            assert!(super::utf8_str(&bytes).is_ok());
        }
    }

    #[test]
    fn clips_and_escapes() {
        assert_eq!(super::clip("abc", 2), "ab…");
        assert_eq!(super::clip("a\r\nb\0", 10), "a\\r\\nb\\u{0}");
    }
}
