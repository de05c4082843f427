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

#[cfg(test)]
mod tests {
    #[test]
    fn clips_and_escapes() {
        assert_eq!(super::clip("abc", 2), "ab…");
        assert_eq!(super::clip("a\r\nb\0", 10), "a\\r\\nb\\u{0}");
    }
}
