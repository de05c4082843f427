//! Entry points for the fuzz targets in `fuzz/` and the property tests. Each runs one piece
//! of the engine on arbitrary input next to its reference, and panics when they disagree
//! (a panic is what the fuzzer reports). Built only for tests and with the `fuzzing`
//! feature: not part of the API.

use crate::format::json_scanner::{
    members, scan_object, ClaimMember, ClaimValue, Lite, Names, Presence,
};
use crate::format::members_memo::Memo;
use crate::format::strict_json;
use crate::keys::key_set::{material_from_pem, Key};
use crate::rules::token::ClaimAccessors;
use crate::{Algorithm, Error, VerifiedToken, Verifier};
use serde_json::{Map, Value};

/// The oracle: serde_json's grammar with a member name repeated at any depth refused.
pub fn strict_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    strict_json::parse_object(bytes)
}

/// The strict scanner next to the strict parser on one document: the same verdict and,
/// when accepted, the same captured members and presence bits; the member locator then
/// agrees with the parser member by member. Returns whether the document was accepted.
pub fn check_scanner(bytes: &[u8]) -> bool {
    const CAPTURED: [&str; 3] = ["iss", "aud", "exp"];
    let full = strict_json::parse_object(bytes);
    let presence = Presence::new(vec!["sub".to_owned()]);
    let scanned = scan_object(bytes, &Names::new(CAPTURED), &presence);
    let shown = || String::from_utf8_lossy(bytes).into_owned();
    check_members_memo(bytes);
    assert_eq!(
        full.is_ok(),
        scanned.is_ok(),
        "verdicts differ on {}",
        shown()
    );
    let (Ok(map), Ok(s)) = (full, scanned) else {
        return false;
    };
    for (i, name) in CAPTURED.iter().enumerate() {
        match (map.get(*name), s.members[i].as_ref()) {
            (None, None) | (Some(Value::Null), Some(Lite::Null)) => {}
            (Some(Value::Bool(_)), Some(Lite::Bool)) => {}
            (Some(Value::Object(_)), Some(Lite::Object)) => {}
            (Some(Value::String(a)), Some(Lite::Str(b))) => assert_eq!(a, b, "{}", shown()),
            (Some(Value::Number(a)), Some(Lite::Number(b))) => {
                assert_eq!(a.as_f64(), Some(*b), "{}", shown())
            }
            (Some(Value::Array(a)), Some(Lite::Array(b))) => {
                assert_eq!(a.len(), b.len(), "{}", shown())
            }
            (a, b) => panic!("{name}: {a:?} vs {b:?} in {}", shown()),
        }
    }
    let sub_present = map.get("sub").is_some_and(|v| !v.is_null());
    assert_eq!(s.present & 1 == 1, sub_present, "{}", shown());
    check_members(bytes, &map);
    let doc = std::str::from_utf8(bytes).expect("the parser accepted it, so it is UTF-8");
    if let Some(scanned) = ClaimAccessors::scanned(doc) {
        assert_eq!(scanned, ClaimAccessors::of(&map), "{doc}");
    }
    true
}

/// The members memo (what a cache hit's `claim_members` reads) on `bytes` between other
/// texts, `bytes` with its last byte changed among them: every answer is the scan's.
fn check_members_memo(bytes: &[u8]) {
    let mut changed = bytes.to_vec();
    if let Some(last) = changed.last_mut() {
        *last ^= 1;
    }
    let sequence: [&[u8]; 6] = [bytes, bytes, &changed, bytes, br#"{"a":1}"#, bytes];
    let mut memo = Memo::default();
    let (mut scanned, mut memoized) = (Vec::new(), Vec::new());
    for doc in sequence {
        let found = members(doc, &mut scanned);
        assert_eq!(memo.members(doc, &mut memoized), found);
        if found {
            assert_eq!(memoized, scanned, "{}", String::from_utf8_lossy(doc));
        }
    }
}

/// [`members`] on a document the parser accepted as `map`: every member it locates is the
/// parser's (same name, same value, document order); it declines only a name that is not
/// plain.
fn check_members(bytes: &[u8], map: &Map<String, Value>) {
    let mut out: Vec<ClaimMember> = Vec::new();
    if !members(bytes, &mut out) {
        let plain = |k: &String| k.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"');
        let escaped = bytes.contains(&b'\\');
        assert!(
            escaped || !map.keys().all(plain),
            "members declined {}",
            String::from_utf8_lossy(bytes)
        );
        return;
    }
    let doc = std::str::from_utf8(bytes).expect("the parser accepted it, so it is UTF-8");
    assert_eq!(out.len(), map.len(), "{doc}");
    assert!(out.windows(2).all(|w| w[0].name.end < w[1].name.start));
    for m in &out {
        let expected = &map[&doc[m.name.clone()]];
        let found = match &m.value {
            ClaimValue::Plain(r) => Value::String(doc[r.clone()].into()),
            ClaimValue::Integer(n) => {
                assert!(expected.is_i64() || expected.is_u64(), "{doc}");
                Value::from(*n as i64)
            }
            ClaimValue::True => Value::Bool(true),
            ClaimValue::False => Value::Bool(false),
            ClaimValue::Null => Value::Null,
            ClaimValue::Json(r) => serde_json::from_str(&doc[r.clone()]).expect("JSON text"),
        };
        assert_eq!(&found, expected, "{doc}");
    }
}

/// A PEM document read as a verification key for every algorithm its type allows.
pub fn pem_key(text: &str) -> Result<Key, String> {
    let material = material_from_pem(text)?;
    Key::new(material, None, None, Algorithm::ALL.into_iter().collect())
}

/// An introspection endpoint's answer `body` judged by `verifier` (which must introspect)
/// as if the endpoint had just sent it.
pub fn introspection_answer(
    verifier: &Verifier,
    body: &[u8],
    now: i64,
) -> Result<VerifiedToken, Error> {
    verifier.judge_introspection_body(body, now)
}
