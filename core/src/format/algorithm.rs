//! The JWS algorithms veritoken verifies, each bound to exactly one key type (and curve).

use aws_lc_rs::signature;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A JWS signature algorithm (RFC 7518 §3, RFC 8037, RFC 9864). `none` is not one of them.
///
/// RFC 9864's fully-specified names are algorithms of their own, each bound to one key type
/// and curve: `Ed25519` (EdDSA on Ed25519 only) and `ESP256`/`ESP384`/`ESP512` (ECDSA on
/// P-256/P-384/P-521 with SHA-256/384/512, the same operations as `ES256`/`ES384`/`ES512`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    ES512,
    EdDSA,
    ESP256,
    ESP384,
    ESP512,
    Ed25519,
}

/// The elliptic curves of `EC` and `OKP` keys that veritoken can verify with.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Curve {
    P256,
    P384,
    P521,
    Ed25519,
}

impl Curve {
    /// The JWK `crv` name.
    pub const fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
            Curve::Ed25519 => "Ed25519",
        }
    }

    /// Bytes of one coordinate (JWK `x`, `y`) on this curve.
    pub const fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 | Curve::Ed25519 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    pub fn from_name(name: &str) -> Option<Curve> {
        Some(match name {
            "P-256" => Curve::P256,
            "P-384" => Curve::P384,
            "P-521" => Curve::P521,
            "Ed25519" => Curve::Ed25519,
            _ => return None,
        })
    }
}

/// The family of key an algorithm needs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KeyFamily {
    /// An HMAC secret (`kty: oct`).
    Oct,
    /// An RSA public key (`kty: RSA`).
    Rsa,
    /// An elliptic-curve public key (`kty: EC` or `OKP`) on the given curve.
    Curve(Curve),
}

impl Algorithm {
    pub const ALL: [Algorithm; 17] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::EdDSA,
        Algorithm::ESP256,
        Algorithm::ESP384,
        Algorithm::ESP512,
        Algorithm::Ed25519,
    ];

    /// The JOSE name (`alg` header value).
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::EdDSA => "EdDSA",
            Algorithm::ESP256 => "ESP256",
            Algorithm::ESP384 => "ESP384",
            Algorithm::ESP512 => "ESP512",
            Algorithm::Ed25519 => "Ed25519",
        }
    }

    /// Looks an algorithm up by its exact, case-sensitive JOSE name.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.iter().copied().find(|a| a.name() == name)
    }

    pub const fn family(self) -> KeyFamily {
        match self {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => KeyFamily::Oct,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => KeyFamily::Rsa,
            Algorithm::ES256 | Algorithm::ESP256 => KeyFamily::Curve(Curve::P256),
            Algorithm::ES384 | Algorithm::ESP384 => KeyFamily::Curve(Curve::P384),
            Algorithm::ES512 | Algorithm::ESP512 => KeyFamily::Curve(Curve::P521),
            Algorithm::EdDSA | Algorithm::Ed25519 => KeyFamily::Curve(Curve::Ed25519),
        }
    }

    /// The other name of the same verification: `ES256` ↔ `ESP256`, `ES384` ↔ `ESP384`,
    /// `ES512` ↔ `ESP512`, `EdDSA` ↔ `Ed25519` (RFC 9864). A key whose JWK `alg` names one
    /// of a pair may verify tokens signed under either name.
    pub const fn twin(self) -> Option<Algorithm> {
        Some(match self {
            Algorithm::ES256 => Algorithm::ESP256,
            Algorithm::ESP256 => Algorithm::ES256,
            Algorithm::ES384 => Algorithm::ESP384,
            Algorithm::ESP384 => Algorithm::ES384,
            Algorithm::ES512 => Algorithm::ESP512,
            Algorithm::ESP512 => Algorithm::ES512,
            Algorithm::EdDSA => Algorithm::Ed25519,
            Algorithm::Ed25519 => Algorithm::EdDSA,
            _ => return None,
        })
    }

    /// Whether a key declared for `self` (its JWK or PEM `alg`) may verify with `alg`: the
    /// same algorithm or its fully-specified twin, nothing else.
    pub fn admits(self, alg: Algorithm) -> bool {
        self == alg || self.twin() == Some(alg)
    }

    /// Shortest HMAC secret accepted: the hash output length (RFC 7518 §3.2).
    pub const fn min_secret_len(self) -> usize {
        match self {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => 0,
        }
    }

    pub(crate) fn verification_algorithm(
        self,
    ) -> Option<&'static dyn signature::VerificationAlgorithm> {
        Some(match self {
            Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
            Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
            Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
            Algorithm::ES256 | Algorithm::ESP256 => &signature::ECDSA_P256_SHA256_FIXED,
            Algorithm::ES384 | Algorithm::ESP384 => &signature::ECDSA_P384_SHA384_FIXED,
            Algorithm::ES512 | Algorithm::ESP512 => &signature::ECDSA_P521_SHA512_FIXED,
            Algorithm::EdDSA | Algorithm::Ed25519 => &signature::ED25519,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => return None,
        })
    }

    /// A bit for [`AlgorithmSet`].
    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Algorithm::from_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unsupported algorithm {:?} (supported: {})",
                crate::support::untrusted_text::clip(&name, 20),
                Algorithm::ALL.map(|a| a.name()).join(", ")
            ))
        })
    }
}

/// A small set of algorithms (an allow-list), checked without allocation on the hot path.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AlgorithmSet(u32);

impl AlgorithmSet {
    pub fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }
    pub fn insert(&mut self, alg: Algorithm) {
        self.0 |= alg.bit();
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |a| self.contains(*a))
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        let mut set = AlgorithmSet::default();
        for a in iter {
            set.insert(a);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(a.name()), Some(a));
        }
        assert_eq!(Algorithm::from_name("none"), None);
        assert_eq!(Algorithm::from_name("hs256"), None);
        assert_eq!(Algorithm::from_name("ES521"), None);
        assert_eq!(Algorithm::from_name("ed25519"), None);
        assert_eq!(Algorithm::from_name("Ed448"), None);
        assert_eq!(Algorithm::from_name("ESP256"), Some(Algorithm::ESP256));
    }

    /// Every algorithm has its own bit: the set is wide enough for all of them.
    #[test]
    fn set_holds_every_algorithm() {
        let all: AlgorithmSet = Algorithm::ALL.into_iter().collect();
        assert_eq!(all.iter().collect::<Vec<_>>(), Algorithm::ALL);
        for a in Algorithm::ALL {
            let one: AlgorithmSet = [a].into_iter().collect();
            assert_eq!(one.iter().collect::<Vec<_>>(), [a]);
        }
    }

    /// Twins verify the same way and on the same curve; nothing else is a twin.
    #[test]
    fn twins_are_the_same_verification() {
        for a in Algorithm::ALL {
            match a.twin() {
                Some(t) => {
                    assert_eq!(t.twin(), Some(a));
                    assert_eq!(t.family(), a.family());
                    assert!(std::ptr::eq(
                        t.verification_algorithm().unwrap() as *const _ as *const u8,
                        a.verification_algorithm().unwrap() as *const _ as *const u8
                    ));
                    assert!(a.admits(t) && t.admits(a));
                }
                None => assert!(matches!(a.family(), KeyFamily::Oct | KeyFamily::Rsa), "{a}"),
            }
            assert!(a.admits(a));
        }
        assert!(!Algorithm::ES256.admits(Algorithm::ESP384));
        assert!(!Algorithm::EdDSA.admits(Algorithm::ES256));
    }

    #[test]
    fn every_algorithm_has_exactly_one_backend() {
        for a in Algorithm::ALL {
            let hmac = crate::keys::hmac_key::HmacKey::new(a, &[7; 64]).is_some();
            let public = a.verification_algorithm().is_some();
            assert!(hmac ^ public, "{a}");
            assert_eq!(hmac, a.family() == KeyFamily::Oct);
        }
    }

    #[test]
    fn set_membership() {
        let set: AlgorithmSet = [Algorithm::RS256, Algorithm::EdDSA].into_iter().collect();
        assert!(set.contains(Algorithm::RS256) && set.contains(Algorithm::EdDSA));
        assert!(!set.contains(Algorithm::HS256));
        assert_eq!(set.iter().count(), 2);
    }
}
