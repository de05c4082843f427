//! HMAC verification (HS256/384/512, RFC 2104) with the key's two padded blocks absorbed
//! once, when the key loads.
//!
//! HMAC is `H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m))`. Its two key blocks never change, so the
//! SHA-2 chaining values after them are kept, and a check runs only the message's blocks
//! and the one outer block through aws-lc's own compression function
//! (`SHA256_TransformBlocks`, `SHA512_Transform`). `aws_lc_rs::hmac::verify` copies a
//! keyed `HMAC_CTX` (about 660 bytes) twice per call; even a per-thread `HMAC_CTX` reset
//! and reused spent ~1,030 instructions around the six SHA-256 blocks of a 254-byte
//! signing input, in aws-lc's buffered update and final. This spends ~440, the key lookup
//! and the tag comparison included (callgrind, one HS256 verify).
//! The kept state is immutable, so every thread shares it with no lock and no per-thread
//! copy, and it is wiped when the key drops.
//!
//! The hash is aws-lc's; this file lays out only the padding FIPS 180-4 §5.1 fixes. The
//! tests hold every tag to aws-lc-rs's HMAC for all three hashes, at every message length
//! across two blocks and with keys shorter than, as long as and longer than a block.

use crate::algorithm::Algorithm;
use aws_lc_sys as sys;
use std::mem::MaybeUninit;

/// The largest SHA-2 block (SHA-384/512), and so the largest digest kept whole.
const MAX_BLOCK: usize = 128;

/// A SHA-2 compression function and the sizes its padding needs.
trait Sha2 {
    type Word: Copy;
    /// Bytes per block.
    const BLOCK: usize;
    /// Bytes of the message length (in bits) that ends the padding.
    const LENGTH_FIELD: usize;
    /// The chaining value a fresh hash starts from (the algorithm's IV).
    fn initial(alg: Algorithm) -> [Self::Word; 8];
    /// Runs `blocks`, a whole number of blocks, through the compression function.
    fn compress(state: &mut [Self::Word; 8], blocks: &[u8]);
    /// `state` as big-endian bytes: the digest before truncation (SHA-384 keeps 48).
    fn digest(state: &[Self::Word; 8], out: &mut [u8; 64]);
}

struct Sha256;

impl Sha2 for Sha256 {
    type Word = u32;
    const BLOCK: usize = 64;
    const LENGTH_FIELD: usize = 8;

    fn initial(_: Algorithm) -> [u32; 8] {
        let mut ctx = MaybeUninit::<sys::SHA256_CTX>::zeroed();
        // SAFETY: `SHA256_Init` writes the context's chaining value (and counters).
        unsafe {
            sys::SHA256_Init(ctx.as_mut_ptr());
            ctx.assume_init().h
        }
    }

    fn compress(state: &mut [u32; 8], blocks: &[u8]) {
        debug_assert_eq!(blocks.len() % Self::BLOCK, 0);
        // SAFETY: `state` is eight words; `blocks` holds `len / 64` whole blocks.
        unsafe {
            sys::SHA256_TransformBlocks(
                state.as_mut_ptr(),
                blocks.as_ptr(),
                blocks.len() / Self::BLOCK,
            )
        }
    }

    fn digest(state: &[u32; 8], out: &mut [u8; 64]) {
        for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }
}

/// SHA-512's compression function, started from SHA-384's IV for HS384.
struct Sha512;

impl Sha2 for Sha512 {
    type Word = u64;
    const BLOCK: usize = 128;
    const LENGTH_FIELD: usize = 16;

    fn initial(alg: Algorithm) -> [u64; 8] {
        let mut ctx = MaybeUninit::<sys::SHA512_CTX>::zeroed();
        // SAFETY: the init functions write the context's chaining value (and counters).
        unsafe {
            match alg {
                Algorithm::HS384 => sys::SHA384_Init(ctx.as_mut_ptr()),
                _ => sys::SHA512_Init(ctx.as_mut_ptr()),
            };
            ctx.assume_init().h
        }
    }

    fn compress(state: &mut [u64; 8], blocks: &[u8]) {
        debug_assert_eq!(blocks.len() % Self::BLOCK, 0);
        // `SHA512_Transform` reads only the context's chaining value (`h`).
        // SAFETY: an all-zero `SHA512_CTX` is plain data.
        let mut ctx = unsafe { MaybeUninit::<sys::SHA512_CTX>::zeroed().assume_init() };
        ctx.h = *state;
        for block in blocks.chunks_exact(Self::BLOCK) {
            // SAFETY: the context is live and `block` is 128 bytes.
            unsafe { sys::SHA512_Transform(&mut ctx, block.as_ptr()) };
        }
        *state = ctx.h;
    }

    fn digest(state: &[u64; 8], out: &mut [u8; 64]) {
        for (chunk, word) in out.chunks_exact_mut(8).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }
}

/// The chaining values after `K ⊕ ipad` and after `K ⊕ opad`.
struct Pads<W> {
    inner: [W; 8],
    outer: [W; 8],
}

impl<W: Copy> Pads<W> {
    /// RFC 2104 §2: a key longer than a block is hashed first (to `digest_len` bytes),
    /// then zero-padded to a block.
    fn new<H: Sha2<Word = W>>(alg: Algorithm, secret: &[u8], digest_len: usize) -> Pads<W> {
        let mut key = [0u8; MAX_BLOCK];
        if secret.len() > H::BLOCK {
            let mut digest = [0u8; 64];
            H::digest(&hash_from::<H>(H::initial(alg), secret, 0), &mut digest);
            key[..digest_len].copy_from_slice(&digest[..digest_len]);
            wipe(&mut digest);
        } else {
            key[..secret.len()].copy_from_slice(secret);
        }
        let padded = |pad: u8, key: &[u8; MAX_BLOCK]| {
            let mut state = H::initial(alg);
            let mut block = [0u8; MAX_BLOCK];
            for (b, k) in block.iter_mut().zip(key) {
                *b = k ^ pad;
            }
            H::compress(&mut state, &block[..H::BLOCK]);
            wipe(&mut block);
            state
        };
        let pads = Pads {
            inner: padded(0x36, &key),
            outer: padded(0x5c, &key),
        };
        wipe(&mut key);
        pads
    }

    /// The HMAC of `message` (its first `tag_len` bytes count) into `out`.
    #[inline]
    fn tag<H: Sha2<Word = W>>(&self, message: &[u8], tag_len: usize, out: &mut [u8; 64]) {
        let mut inner = [0u8; 64];
        H::digest(&hash_from::<H>(self.inner, message, H::BLOCK), &mut inner);
        H::digest(
            &hash_from::<H>(self.outer, &inner[..tag_len], H::BLOCK),
            out,
        );
    }
}

/// The final chaining value of a hash that had taken `before` bytes to reach `state`, then
/// `message`: its whole blocks as they are, then the rest with the padding.
#[inline]
fn hash_from<H: Sha2>(mut state: [H::Word; 8], message: &[u8], before: usize) -> [H::Word; 8] {
    let whole = message.len() - message.len() % H::BLOCK;
    if whole > 0 {
        H::compress(&mut state, &message[..whole]);
    }
    finish::<H>(&mut state, &message[whole..], before + message.len());
    state
}

/// Hashes the message's last `tail` bytes (less than a block) and the padding: a 1 bit,
/// zeros, and the length of all `total` bytes hashed, in bits, big-endian.
#[inline]
fn finish<H: Sha2>(state: &mut [H::Word; 8], tail: &[u8], total: usize) {
    debug_assert!(tail.len() < H::BLOCK);
    let mut buf = [0u8; 2 * MAX_BLOCK];
    buf[..tail.len()].copy_from_slice(tail);
    buf[tail.len()] = 0x80;
    let blocks = if tail.len() + 1 + H::LENGTH_FIELD <= H::BLOCK {
        1
    } else {
        2
    };
    let end = blocks * H::BLOCK;
    let bits = (total as u128 * 8).to_be_bytes();
    buf[end - H::LENGTH_FIELD..end].copy_from_slice(&bits[bits.len() - H::LENGTH_FIELD..]);
    H::compress(state, &buf[..end]);
}

/// Zeroes key-derived bytes in a way the compiler keeps.
fn wipe<T>(value: &mut T) {
    // SAFETY: writes exactly the bytes of a live, exclusively borrowed value.
    unsafe { sys::OPENSSL_cleanse((value as *mut T).cast(), std::mem::size_of::<T>()) }
}

enum Keyed {
    Sha256(Pads<u32>),
    Sha512(Pads<u64>),
}

/// An HMAC secret bound to one hash, ready to check tags from any thread.
pub(crate) struct HmacKey {
    keyed: Keyed,
    tag_len: usize,
}

impl HmacKey {
    /// `None` for an algorithm that is not HMAC.
    pub(crate) fn new(alg: Algorithm, secret: &[u8]) -> Option<HmacKey> {
        let tag_len = match alg {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => return None,
        };
        let keyed = match alg {
            Algorithm::HS256 => Keyed::Sha256(Pads::new::<Sha256>(alg, secret, tag_len)),
            _ => Keyed::Sha512(Pads::new::<Sha512>(alg, secret, tag_len)),
        };
        Some(HmacKey { keyed, tag_len })
    }

    /// Whether `tag` is the HMAC of `message`, compared in constant time.
    pub(crate) fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        if tag.len() != self.tag_len {
            return false;
        }
        let mut out = [0u8; 64];
        match &self.keyed {
            Keyed::Sha256(pads) => pads.tag::<Sha256>(message, self.tag_len, &mut out),
            Keyed::Sha512(pads) => pads.tag::<Sha512>(message, self.tag_len, &mut out),
        }
        // SAFETY: both buffers hold at least `tag.len()` (≤ 64) bytes.
        unsafe { sys::CRYPTO_memcmp(out.as_ptr().cast(), tag.as_ptr().cast(), tag.len()) == 0 }
    }
}

impl Drop for HmacKey {
    fn drop(&mut self) {
        match &mut self.keyed {
            Keyed::Sha256(pads) => wipe(pads),
            Keyed::Sha512(pads) => wipe(pads),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::hmac;

    fn reference(alg: hmac::Algorithm, secret: &[u8], message: &[u8]) -> Vec<u8> {
        hmac::sign(&hmac::Key::new(alg, secret), message)
            .as_ref()
            .to_vec()
    }

    const ALGS: [(Algorithm, hmac::Algorithm); 3] = [
        (Algorithm::HS256, hmac::HMAC_SHA256),
        (Algorithm::HS384, hmac::HMAC_SHA384),
        (Algorithm::HS512, hmac::HMAC_SHA512),
    ];

    #[test]
    fn agrees_with_aws_lc_rs_at_every_length_across_two_blocks() {
        for (alg, reference_alg) in ALGS {
            let secret: Vec<u8> = (0..100u8).collect();
            let key = HmacKey::new(alg, &secret).unwrap();
            // Every padding case: the length field fitting in the last block or not, and
            // whole blocks with nothing left over.
            for len in (0..=2 * MAX_BLOCK + 3).chain([1000, 4096, 70_001]) {
                let message: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
                let tag = reference(reference_alg, &secret, &message);
                assert!(key.verify(&message, &tag), "{alg} len {len}");
                let mut bad = tag.clone();
                bad[len % tag.len()] ^= 1;
                assert!(!key.verify(&message, &bad), "{alg} len {len} flipped");
                assert!(!key.verify(&message, &tag[..tag.len() - 1]), "short tag");
                let mut long = tag.clone();
                long.push(0);
                assert!(!key.verify(&message, &long), "long tag");
            }
        }
    }

    #[test]
    fn keys_shorter_equal_and_longer_than_a_block_agree() {
        for (alg, reference_alg) in ALGS {
            for key_len in [0usize, 1, 32, 47, 48, 63, 64, 65, 127, 128, 129, 300] {
                let secret: Vec<u8> = (0..key_len).map(|i| (i * 13 + 5) as u8).collect();
                let key = HmacKey::new(alg, &secret).unwrap();
                for message in [&b""[..], b"m", &[0xa5; 200]] {
                    let tag = reference(reference_alg, &secret, message);
                    assert!(key.verify(message, &tag), "{alg} key {key_len}");
                }
            }
        }
    }

    #[test]
    fn a_rejection_leaves_the_key_usable() {
        let key = HmacKey::new(Algorithm::HS256, &[9; 32]).unwrap();
        let tag = reference(hmac::HMAC_SHA256, &[9; 32], b"m");
        assert!(!key.verify(b"other", &tag));
        assert!(key.verify(b"m", &tag));
        assert!(!key.verify(b"m", &[0; 32]));
        assert!(key.verify(b"m", &tag));
    }

    #[test]
    fn keys_are_independent_and_shared_across_threads() {
        let a = std::sync::Arc::new(HmacKey::new(Algorithm::HS256, &[1; 32]).unwrap());
        let b = HmacKey::new(Algorithm::HS256, &[2; 32]).unwrap();
        let tag_a = reference(hmac::HMAC_SHA256, &[1; 32], b"msg");
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
    fn the_same_secret_under_another_hash_is_another_key() {
        let secret = [3u8; 64];
        let tag = reference(hmac::HMAC_SHA512, &secret, b"msg");
        assert!(HmacKey::new(Algorithm::HS512, &secret)
            .unwrap()
            .verify(b"msg", &tag));
        // HS384 runs the same compression function from another IV, truncated.
        let hs384 = HmacKey::new(Algorithm::HS384, &secret).unwrap();
        assert!(!hs384.verify(b"msg", &tag[..48]));
    }

    #[test]
    fn only_hmac_algorithms_make_keys() {
        assert!(HmacKey::new(Algorithm::RS256, &[0; 32]).is_none());
        assert!(HmacKey::new(Algorithm::EdDSA, &[0; 32]).is_none());
    }
}
