//! A per-thread memo of the last claims text's members ([`json_scanner::members`]), for
//! answers from the verified-token cache. A client sends the same token with every
//! request, so a hit answers the same claims text again and again; a binding that builds
//! its object from the members (Node) then re-located every member on every hit: 13 % of
//! a Node cache hit, measured with perf.
//!
//! Sound because [`json_scanner::members`] is a pure function of the text: the memo answers
//! only for the very same bytes (compared in full), with what the scan gave for them.
//! Per thread, so no lock and no shared cache line; one entry, at most [`MAX_TEXT`] bytes.

use crate::format::json_scanner::{self, ClaimMember};
use std::cell::RefCell;

/// Longer claims texts are scanned every time instead of being kept.
const MAX_TEXT: usize = 4096;

/// The last text scanned and what the scan found.
#[derive(Default)]
pub(crate) struct Memo {
    text: Vec<u8>,
    members: Vec<ClaimMember>,
    found: bool,
    /// False until a text is kept (an empty `text` is then a real entry).
    kept: bool,
}

impl Memo {
    /// [`json_scanner::members`] of `bytes` into `out`, from the memo when `bytes` is the
    /// text it holds.
    pub fn members(&mut self, bytes: &[u8], out: &mut Vec<ClaimMember>) -> bool {
        if self.kept && self.text == bytes {
            out.clone_from(&self.members);
            return self.found;
        }
        let found = json_scanner::members(bytes, out);
        self.kept = bytes.len() <= MAX_TEXT;
        self.text.clear();
        self.members.clear();
        if self.kept {
            self.text.extend_from_slice(bytes);
            self.members.clone_from(out);
            self.found = found;
        }
        found
    }
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::default();
}

/// [`json_scanner::members`] through this thread's memo.
pub(crate) fn members(bytes: &[u8], out: &mut Vec<ClaimMember>) -> bool {
    let memoized = MEMO.try_with(|memo| {
        memo.try_borrow_mut()
            .ok()
            .map(|mut memo| memo.members(bytes, out))
    });
    match memoized {
        Ok(Some(found)) => found,
        _ => json_scanner::members(bytes, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(doc: &[u8]) -> (bool, Vec<ClaimMember>) {
        let mut out = Vec::new();
        (json_scanner::members(doc, &mut out), out)
    }

    fn memoized(memo: &mut Memo, doc: &[u8]) -> (bool, Vec<ClaimMember>) {
        // A dirty buffer, as a binding's reused one is.
        let mut out = vec![scanned(br#"{"z":1}"#).1[0].clone(); 3];
        (memo.members(doc, &mut out), out)
    }

    #[test]
    fn agrees_with_the_scan_on_repeats_and_changes() {
        let docs: [&[u8]; 8] = [
            br#"{"sub":"a","exp":1700000000,"scope":"read write"}"#,
            br#"{"sub":"a","exp":1700000000,"scope":"read write"}"#,
            // One byte changed: a new text, scanned again.
            br#"{"sub":"b","exp":1700000000,"scope":"read write"}"#,
            br#"{"sub":"b","exp":17000000000,"scope":"read write"}"#,
            br#"{"s\u0075b":"b"}"#,
            br#"{"s\u0075b":"b"}"#,
            b"not json",
            b"",
        ];
        let mut memo = Memo::default();
        for round in 0..2 {
            for doc in docs {
                let shown = String::from_utf8_lossy(doc);
                assert_eq!(memoized(&mut memo, doc), scanned(doc), "{shown} ({round})");
            }
        }
    }

    #[test]
    fn keeps_one_bounded_text() {
        let mut memo = Memo::default();
        let long = format!(r#"{{"sub":"{}"}}"#, "x".repeat(MAX_TEXT));
        assert_eq!(
            memoized(&mut memo, long.as_bytes()),
            scanned(long.as_bytes())
        );
        assert!(!memo.kept && memo.text.is_empty() && memo.members.is_empty());
        assert_eq!(
            memoized(&mut memo, long.as_bytes()),
            scanned(long.as_bytes())
        );
        let doc = br#"{"sub":"a"}"#;
        memoized(&mut memo, doc);
        assert!(memo.kept && memo.text == doc && memo.members.len() == 1);
    }

    #[test]
    fn the_thread_memo_answers_what_the_scan_does() {
        let doc = br#"{"iss":"https://idp","aud":["a","b"],"n":12.5,"t":true}"#;
        let mut out = Vec::new();
        for _ in 0..3 {
            assert!(members(doc, &mut out));
            assert_eq!(out, scanned(doc).1);
        }
    }
}
