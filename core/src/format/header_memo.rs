//! A small per-thread memo of checked JWS headers, keyed by the header segment's exact
//! text. An issuer signs every token with the same few headers (`alg`, `kid`, `typ`), so
//! after the first token the base64url decode and the header scan are skipped.
//!
//! Sound because [`Header::check`](crate::format::jose_header::Header) is a pure function of the segment:
//! the same text always decodes and checks the same way, whatever the verifier. Only
//! headers that passed are kept. Per thread, so verifying on many threads shares no lock
//! and no cache line; bounded ([`SLOTS`] entries of at most [`MAX_SEGMENT`] bytes).

use crate::format::jose_header::Header;
use std::cell::RefCell;
use std::sync::Arc;

/// Entries per thread: enough for several issuers mid key rotation.
const SLOTS: usize = 8;

/// Longer header segments are checked every time instead of being kept.
const MAX_SEGMENT: usize = 1024;

#[derive(Default)]
struct Memo {
    slots: [Option<(Box<str>, Arc<Header>)>; SLOTS],
    /// The slot the next new header replaces (round robin).
    next: usize,
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::default();
}

/// The checked header for this segment, if this thread has seen it.
pub(crate) fn get(segment: &str) -> Option<Arc<Header>> {
    MEMO.try_with(|memo| {
        let memo = memo.borrow();
        memo.slots
            .iter()
            .flatten()
            .find(|(text, _)| **text == *segment)
            .map(|(_, header)| header.clone())
    })
    .ok()
    .flatten()
}

/// Keeps a header that passed its checks; returns it for the caller's use.
pub(crate) fn put(segment: &str, header: Header) -> Arc<Header> {
    let header = Arc::new(header);
    if segment.len() <= MAX_SEGMENT {
        let _ = MEMO.try_with(|memo| {
            let mut memo = memo.borrow_mut();
            let slot = memo.next;
            memo.slots[slot] = Some((segment.into(), header.clone()));
            memo.next = (slot + 1) % SLOTS;
        });
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::b64;
    use crate::keys::jws::{decode_checked, signature_buf};

    fn token(header: &str) -> String {
        format!("{}.e30.c2ln", b64::encode(header))
    }

    fn alg_of(token: &str) -> Result<String, crate::ErrorCode> {
        let mut buf = signature_buf();
        decode_checked(token, 16 * 1024, &mut buf)
            .map(|d| d.header.fields().alg.name().to_owned())
            .map_err(|e| e.code())
    }

    #[test]
    fn a_seen_header_comes_back_checked_and_shared() {
        let t = token(r#"{"alg":"ES256","kid":"memo-1"}"#);
        let segment = t.split('.').next().unwrap();
        assert_eq!(alg_of(&t).unwrap(), "ES256");
        let first = get(segment).expect("kept after a successful check");
        assert_eq!(alg_of(&t).unwrap(), "ES256");
        assert!(Arc::ptr_eq(&first, &get(segment).unwrap()));
        assert_eq!(first.fields().kid.as_deref(), Some("memo-1"));
        assert_eq!(&*first.json, r#"{"alg":"ES256","kid":"memo-1"}"#);
    }

    #[test]
    fn refused_headers_are_not_kept_and_stay_refused() {
        let t = token(r#"{"alg":"none","kid":"memo-2"}"#);
        let segment = t.split('.').next().unwrap();
        for _ in 0..2 {
            assert_eq!(alg_of(&t), Err(crate::ErrorCode::AlgorithmNotAllowed));
            assert!(get(segment).is_none());
        }
    }

    #[test]
    fn bounded_in_entries_and_size() {
        let segments: Vec<String> = (0..SLOTS + 3)
            .map(|i| token(&format!(r#"{{"alg":"HS256","kid":"memo-3-{i}"}}"#)))
            .collect();
        for t in &segments {
            alg_of(t).unwrap();
        }
        let kept = segments
            .iter()
            .filter(|t| get(t.split('.').next().unwrap()).is_some())
            .count();
        assert_eq!(kept, SLOTS);
        let long = token(&format!(
            r#"{{"alg":"HS256","kid":"{}"}}"#,
            "k".repeat(MAX_SEGMENT)
        ));
        alg_of(&long).unwrap();
        assert!(get(long.split('.').next().unwrap()).is_none());
    }

    #[test]
    fn errors_keep_their_order_on_a_memo_hit() {
        // A memoized header must not hide a later segment's error.
        let good = token(r#"{"alg":"HS256","kid":"memo-4"}"#);
        alg_of(&good).unwrap();
        let head = good.split('.').next().unwrap();
        let bad_payload = format!("{head}.e30=.c2ln");
        assert_eq!(alg_of(&bad_payload), Err(crate::ErrorCode::TokenMalformed));
        let bad_sig = format!("{head}.e30.c2l");
        assert_eq!(alg_of(&bad_sig), Err(crate::ErrorCode::TokenMalformed));
    }
}
