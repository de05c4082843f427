//! HMAC verification (HS256/384/512) with one keyed aws-lc context per thread per key.
//!
//! Why not `aws_lc_rs::hmac::verify`: it copies the keyed `HMAC_CTX` (about 660 bytes) into
//! a fresh context on every call and again to finish, which on a 254-byte signing input
//! costs 535–600 ns against 325–390 ns for a reused context (SHA-NI host). aws-lc itself
//! resets a used context to its keyed state with `HMAC_Init_ex(ctx, NULL, 0, NULL, NULL)`
//! (the precomputed inner pad is restored, nothing is re-derived), so each thread keeps
//! its own context for this key. `ThreadLocal` gives lock-free access after a thread's
//! first call, and every context is wiped when the key is dropped, so no key-derived state
//! outlives the key (after a rotation, say).
//!
//! This is the same aws-lc HMAC that aws-lc-rs wraps, called one level lower; nothing
//! cryptographic is written here.

use crate::algorithm::Algorithm;
use aws_lc_sys as sys;
use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::ptr;
use thread_local::ThreadLocal;

/// A keyed `HMAC_CTX`: a hash state for the running message and the two precomputed
/// (inner and outer) pad states, plus pointers to aws-lc's static method tables.
struct Context(sys::HMAC_CTX);

// SAFETY: an `HMAC_CTX` is flat data; its pointers name aws-lc's immutable, static digest
// and method tables. Shared references are only ever read (copied from), and a context
// that is written to lives in one thread's slot.
unsafe impl Send for Context {}
unsafe impl Sync for Context {}

impl Context {
    fn keyed(md: *const sys::EVP_MD, secret: &[u8]) -> Option<Context> {
        let mut ctx = MaybeUninit::<sys::HMAC_CTX>::uninit();
        // SAFETY: `HMAC_CTX_init` zeroes the whole struct, which is its valid empty state;
        // `HMAC_Init_ex` reads `secret.len()` bytes from a live slice.
        unsafe {
            sys::HMAC_CTX_init(ctx.as_mut_ptr());
            let mut ctx = Context(ctx.assume_init());
            let keyed = sys::HMAC_Init_ex(
                &mut ctx.0,
                secret.as_ptr().cast(),
                secret.len(),
                md,
                ptr::null_mut(),
            ) == 1;
            keyed.then_some(ctx)
        }
    }

    /// A copy that can run on its own (aws-lc's own `HMAC_CTX_copy_ex` is a flat copy).
    fn duplicate(&self) -> Context {
        let mut copy = MaybeUninit::<sys::HMAC_CTX>::uninit();
        // SAFETY: the source is a live, keyed context; the copy is fully written.
        unsafe {
            sys::HMAC_CTX_copy_ex(copy.as_mut_ptr(), &self.0);
            Context(copy.assume_init())
        }
    }

    /// The tag of `message` under this context's key, written to `out`; its length, or
    /// `None` if aws-lc reports a failure (after which the context must not be reused).
    fn tag(
        &mut self,
        message: &[u8],
        out: &mut [u8; sys::EVP_MAX_MD_SIZE as usize],
    ) -> Option<usize> {
        let mut len = 0u32;
        // SAFETY: the context is keyed (built by `keyed`, reset here before use); the
        // message slice is live for the call; `out` holds the largest digest aws-lc makes.
        let ok = unsafe {
            sys::HMAC_Init_ex(&mut self.0, ptr::null(), 0, ptr::null(), ptr::null_mut()) == 1
                && sys::HMAC_Update(&mut self.0, message.as_ptr(), message.len()) == 1
                && sys::HMAC_Final(&mut self.0, out.as_mut_ptr(), &mut len) == 1
        };
        ok.then_some(len as usize)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: cleansing zeroes the struct, pads included.
        unsafe { sys::HMAC_CTX_cleanup(&mut self.0) }
    }
}

/// An HMAC secret bound to one hash, ready to check tags from any thread.
pub(crate) struct HmacKey {
    /// Keyed once; never run, only copied into a thread's slot on its first call.
    template: Box<Context>,
    per_thread: ThreadLocal<RefCell<Context>>,
    tag_len: usize,
}

impl HmacKey {
    /// `None` for an algorithm that is not HMAC (or if aws-lc refuses the key).
    pub(crate) fn new(alg: Algorithm, secret: &[u8]) -> Option<HmacKey> {
        // SAFETY: these return pointers to static digest descriptions.
        let (md, tag_len) = unsafe {
            match alg {
                Algorithm::HS256 => (sys::EVP_sha256(), 32),
                Algorithm::HS384 => (sys::EVP_sha384(), 48),
                Algorithm::HS512 => (sys::EVP_sha512(), 64),
                _ => return None,
            }
        };
        Some(HmacKey {
            template: Box::new(Context::keyed(md, secret)?),
            per_thread: ThreadLocal::new(),
            tag_len,
        })
    }

    /// Whether `tag` is the HMAC of `message`, compared in constant time.
    pub(crate) fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        if tag.len() != self.tag_len {
            return false;
        }
        let mut out = [0u8; sys::EVP_MAX_MD_SIZE as usize];
        let slot = self
            .per_thread
            .get_or(|| RefCell::new(self.template.duplicate()));
        let len = match slot.try_borrow_mut() {
            Ok(mut ctx) => {
                let len = ctx.tag(message, &mut out);
                if len.is_none() {
                    // aws-lc cleared the context on failure: start the next call afresh.
                    *ctx = self.template.duplicate();
                }
                len
            }
            // Not reachable (nothing verifies re-entrantly), but a private copy is correct.
            Err(_) => self.template.duplicate().tag(message, &mut out),
        };
        // SAFETY: both buffers hold at least `tag.len()` bytes (checked above and below).
        len == Some(tag.len())
            && unsafe { sys::CRYPTO_memcmp(out.as_ptr().cast(), tag.as_ptr().cast(), tag.len()) }
                == 0
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

    #[test]
    fn agrees_with_aws_lc_rs_for_every_hash_and_length() {
        for (alg, reference_alg) in [
            (Algorithm::HS256, hmac::HMAC_SHA256),
            (Algorithm::HS384, hmac::HMAC_SHA384),
            (Algorithm::HS512, hmac::HMAC_SHA512),
        ] {
            let secret: Vec<u8> = (0..100u8).collect();
            let key = HmacKey::new(alg, &secret).unwrap();
            // Lengths around every block boundary; the same context is reused throughout.
            for len in [0usize, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 1000] {
                let message: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
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
    fn a_rejection_leaves_the_context_usable() {
        let key = HmacKey::new(Algorithm::HS256, &[9; 32]).unwrap();
        let tag = reference(hmac::HMAC_SHA256, &[9; 32], b"m");
        assert!(!key.verify(b"other", &tag));
        assert!(key.verify(b"m", &tag));
        assert!(!key.verify(b"m", &[0; 32]));
        assert!(key.verify(b"m", &tag));
    }

    #[test]
    fn keys_do_not_share_contexts_across_threads_or_each_other() {
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
    fn only_hmac_algorithms_make_keys() {
        assert!(HmacKey::new(Algorithm::RS256, &[0; 32]).is_none());
        assert!(HmacKey::new(Algorithm::EdDSA, &[0; 32]).is_none());
    }
}
