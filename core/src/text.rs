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
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn clips_and_escapes() {
        assert_eq!(super::clip("abc", 2), "ab…");
        assert_eq!(super::clip("a\r\nb\0", 10), "a\\r\\nb\\u{0}");
    }
}
