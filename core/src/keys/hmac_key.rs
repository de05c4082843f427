//! HMAC verification (HS256/384/512) through aws-lc-rs's `hmac` API.
//!
//! The `hmac::Key` is built once, when the key loads (aws-lc keys its `HMAC_CTX` then);
//! a check is one `hmac::verify`, which recomputes the tag and compares it in constant
//! time. Nothing here touches a hash function or the HMAC construction: both stay inside
//! aws-lc, the audited (and FIPS-validated) module. aws-lc wipes the keyed context when the
//! key drops. The rule for the future: cryptography only through aws-lc-rs's public API.

use crate::format::algorithm::Algorithm;
use aws_lc_rs::hmac;

/// An HMAC secret bound to one hash, ready to check tags from any thread.
pub(crate) struct HmacKey(hmac::Key);

impl HmacKey {
    /// `None` for an algorithm that is not HMAC.
    pub(crate) fn new(alg: Algorithm, secret: &[u8]) -> Option<HmacKey> {
        let hash = match alg {
            Algorithm::HS256 => hmac::HMAC_SHA256,
            Algorithm::HS384 => hmac::HMAC_SHA384,
            Algorithm::HS512 => hmac::HMAC_SHA512,
            _ => return None,
        };
        Some(HmacKey(hmac::Key::new(hash, secret)))
    }

    /// Whether `tag` is the HMAC of `message` (a tag of another length never is),
    /// compared in constant time.
    #[inline]
    pub(crate) fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.0, message, tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 4231 test cases 2 ("Jefe") and 6 (a 131-byte key, longer than a block): a
    /// reference outside aws-lc, so a wrong hash behind an algorithm name fails here.
    #[test]
    fn rfc_4231_test_cases_for_every_hash() {
        let jefe = (
            b"Jefe".to_vec(),
            b"what do ya want for nothing?".to_vec(),
            [
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
                 8e2240ca5e69e2c78b3239ecfab21649",
                "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
                 9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
            ],
        );
        let long_key = (
            vec![0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
            [
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
                "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6\
                 0c2ef6ab4030fe8296248df163f44952",
                "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352\
                 6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
            ],
        );
        let algs = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
        for (secret, message, tags) in [jefe, long_key] {
            for (alg, tag) in algs.into_iter().zip(tags) {
                let tag = unhex(&tag.replace(' ', ""));
                let key = HmacKey::new(alg, &secret).unwrap();
                assert!(key.verify(&message, &tag), "{alg}");
                let mut bad = tag.clone();
                bad[5] ^= 1;
                assert!(!key.verify(&message, &bad), "{alg} flipped");
                assert!(!key.verify(&message, &tag[..tag.len() - 1]), "{alg} short");
                let mut long = tag.clone();
                long.push(0);
                assert!(!key.verify(&message, &long), "{alg} long");
                assert!(!key.verify(&message[1..], &tag), "{alg} other message");
            }
        }
    }

    #[test]
    fn the_same_secret_under_another_hash_is_another_key() {
        let secret = [3u8; 64];
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA512, &secret), b"msg");
        let tag = tag.as_ref();
        assert!(HmacKey::new(Algorithm::HS512, &secret)
            .unwrap()
            .verify(b"msg", tag));
        let hs384 = HmacKey::new(Algorithm::HS384, &secret).unwrap();
        assert!(!hs384.verify(b"msg", &tag[..48]));
    }

    #[test]
    fn keys_are_independent_and_shared_across_threads() {
        let a = std::sync::Arc::new(HmacKey::new(Algorithm::HS256, &[1; 32]).unwrap());
        let b = HmacKey::new(Algorithm::HS256, &[2; 32]).unwrap();
        let tag_a = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &[1; 32]), b"msg");
        let tag_a = tag_a.as_ref().to_vec();
        assert!(a.verify(b"msg", &tag_a));
        assert!(!b.verify(b"msg", &tag_a));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let a = a.clone();
                let tag_a = tag_a.clone();
                std::thread::spawn(move || (0..200).all(|_| a.verify(b"msg", &tag_a)))
            })
            .collect();
        assert!(threads.into_iter().all(|t| t.join().unwrap()));
    }

    #[test]
    fn only_hmac_algorithms_make_keys() {
        assert!(HmacKey::new(Algorithm::RS256, &[0; 32]).is_none());
        assert!(HmacKey::new(Algorithm::EdDSA, &[0; 32]).is_none());
    }
}
