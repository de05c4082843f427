//! Small helpers for putting untrusted text into messages safely.

#![forbid(unsafe_code)]

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
///
/// A raw CR or LF in scanned JSON can only be whitespace between tokens (one inside a
/// string is refused), so each becomes a space: the same JSON at the same length (member
/// offsets hold), and text that never splits a header it is copied into (the C header's
/// promise: no raw NUL, CR or LF).
pub(crate) fn checked_utf8(mut bytes: Vec<u8>) -> String {
    if memchr::memchr2(b'\r', b'\n', &bytes).is_some() {
        for b in bytes.iter_mut().filter(|b| matches!(**b, b'\r' | b'\n')) {
            *b = b' ';
        }
    }
    utf8_string(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// [`std::str::from_utf8`], for the bindings, whose tokens arrive as bytes. (It was an
/// ASCII check followed by `from_utf8_unchecked`, ~15 ns faster on a 300-byte token;
/// std's own check has an ASCII fast path, and no `unsafe` is worth that here.)
#[doc(hidden)]
#[inline]
pub fn utf8_str(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    std::str::from_utf8(bytes)
}

/// [`String::from_utf8`], as [`utf8_str`].
#[doc(hidden)]
#[inline]
pub fn utf8_string(bytes: Vec<u8>) -> Result<String, std::string::FromUtf8Error> {
    String::from_utf8(bytes)
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

    /// One high byte at any position of any length is seen (this held the ASCII fast path
    /// that was here to the full check; it stays as a guard against a new shortcut).
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
