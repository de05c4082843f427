//! Where a verified token's claims lie in its answer string, so that `index.js` builds the
//! claims object from pieces of that string instead of `JSON.parse` of all of it. V8's
//! `JSON.parse` of a typical 136-byte claims text cost ~0.86 µs of a ~2.15 µs HS256
//! `verifySync(token).claims`, more than the whole verification; the engine's scanner has
//! read every member already, so `VerifiedToken::claim_members` says where each one is.
//!
//! The answer then ends with U+0001 and a shape: per member a kind letter and its name,
//! members apart by U+0002 (a plain name holds neither): `s` plain string, `i` integer,
//! `t` true, `f` false, `n` null, `j` any other value. Member i's numbers are in slots
//! 2i and 2i+1 of the verifier's `Float64Array`: the start and end (UTF-16 units of the
//! answer) of a string or JSON text, or the integer in slot 2i+1. The array's last slot
//! holds the shape's number: the same for the same shape on this thread for its whole
//! life, never reused, 0 for none (past [`MAX_NUMBERED`] shapes, or a long one). `claims.js`
//! compiles one builder per shape and finds it by that number, which spares comparing the
//! shape's text on every call (~7 % of a Node cache hit); anything else (no shape) is
//! parsed as before.
//!
//! Offsets are UTF-16 units only while every byte is ASCII, so only an ASCII answer gets a
//! shape. A shape is written only by a bound call, on its environment's thread, which is
//! also the only reader, right after the call returns.

use napi::bindgen_prelude::*;
use napi::JsValue;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ptr;
use veritoken::{ClaimMember, ClaimValue, VerifiedToken};

/// The `Float64Array` the members' numbers are written to, kept alive by a reference.
///
/// Only the reference is kept, never a pointer: the array's `ArrayBuffer` can be detached
/// (`buffer.transfer()`, `structuredClone(.., {transfer})`, `postMessage`) or, when
/// resizable, shrunk between two calls, which frees or moves its memory. Each call that
/// writes asks napi for the array's memory and length again ([`LayoutOut::view`]) and
/// refuses an array that no longer has the length it had when bound.
pub(crate) struct LayoutOut {
    slots: usize,
    reference: sys::napi_ref,
}

/// The layout array's memory for one call, fetched by [`LayoutOut::view`]. Valid until
/// the call returns to JS: nothing between the fetch and the writes runs JS code, so
/// nothing can detach the buffer in between.
pub(crate) struct LayoutView {
    values: *mut f64,
    slots: usize,
}

/// A layout array whose buffer was detached or resized since it was bound.
fn detached() -> Error {
    Error::new(
        Status::InvalidArg,
        "the claims layout Float64Array was detached or resized after verifyCalls() \
         bound it; bind a new one",
    )
}

/// Whether `value` is a `Float64Array`.
///
/// # Safety
/// `env` and `value` must be live napi handles of the running call.
unsafe fn is_float64_array(env: sys::napi_env, value: sys::napi_value) -> Result<bool> {
    let (mut is_typed, mut kind) = (false, 0);
    // SAFETY: `value` is this call's; napi writes the outputs or fails.
    unsafe {
        check_status!(sys::napi_is_typedarray(env, value, &mut is_typed))?;
        if is_typed {
            check_status!(sys::napi_get_typedarray_info(
                env,
                value,
                &mut kind,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            ))?;
        }
    }
    Ok(is_typed && kind == sys::TypedarrayType::float64_array)
}

/// The length and memory of `value`, a typed array: its kind is not asked again (it never
/// changes), which alone measured ~4 % of a Node cache hit.
///
/// # Safety
/// As [`is_float64_array`]. (Anything but a typed array is refused by napi, an error.)
unsafe fn typed_array_memory(
    env: sys::napi_env,
    value: sys::napi_value,
) -> Result<(usize, *mut f64)> {
    let (mut slots, mut data) = (0usize, ptr::null_mut());
    // SAFETY: `value` is this call's; napi writes the outputs or fails.
    unsafe {
        check_status!(sys::napi_get_typedarray_info(
            env,
            value,
            ptr::null_mut(),
            &mut slots,
            &mut data,
            ptr::null_mut(),
            ptr::null_mut(),
        ))?;
    }
    Ok((slots, data.cast()))
}

impl LayoutOut {
    /// The layout array `value` (a `Float64Array`), referenced until [`LayoutOut::release`].
    ///
    /// # Safety
    /// `env` and `value` must come from napi for the running call.
    pub unsafe fn new(env: sys::napi_env, value: &Unknown<'_>) -> Result<LayoutOut> {
        // SAFETY: `env` and `value` are the running call's.
        if !unsafe { is_float64_array(env, value.raw())? } {
            return Err(Error::new(
                Status::InvalidArg,
                "layout must be a Float64Array",
            ));
        }
        // SAFETY: as above, and it is a typed array.
        let (slots, _) = unsafe { typed_array_memory(env, value.raw())? };
        let mut reference = ptr::null_mut();
        // SAFETY: as above; napi writes the reference or fails.
        unsafe {
            check_status!(sys::napi_create_reference(
                env,
                value.raw(),
                1,
                &mut reference
            ))?
        };
        Ok(LayoutOut { slots, reference })
    }

    /// Drops the reference, letting the array be collected.
    ///
    /// # Safety
    /// `env` must be the environment the reference was made in.
    pub unsafe fn release(self, env: sys::napi_env) {
        // SAFETY: the reference is this environment's and deleted once, here.
        unsafe { sys::napi_delete_reference(env, self.reference) };
    }

    /// The array's memory now, checked: still the length it was bound with (a detached
    /// buffer has length 0), its memory non-null. It is still a `Float64Array`: a typed
    /// array's kind never changes.
    ///
    /// # Safety
    /// `env` must be the running call's, in the environment the reference was made in.
    pub unsafe fn view(&self, env: sys::napi_env) -> Result<LayoutView> {
        let mut value = ptr::null_mut();
        // SAFETY: the reference is live (strong, count 1) until `release`; napi writes the
        // value or fails; the value is then a live handle of this call.
        let (slots, values) = unsafe {
            check_status!(sys::napi_get_reference_value(
                env,
                self.reference,
                &mut value
            ))?;
            if value.is_null() {
                return Err(detached());
            }
            typed_array_memory(env, value)?
        };
        if slots != self.slots || values.is_null() {
            return Err(detached());
        }
        Ok(LayoutView { values, slots })
    }
}

impl LayoutView {
    /// How many members fit (the last slot is the shape's number).
    fn members(&self) -> usize {
        self.slots.saturating_sub(1) / 2
    }

    /// Writes the shape's number to the last slot.
    fn set_number(&self, number: f64) {
        if let Some(last) = self.slots.checked_sub(1) {
            // SAFETY: as in `set`.
            unsafe { *self.values.add(last) = number };
        }
    }

    /// Writes member `i`'s two numbers.
    fn set(&self, i: usize, first: f64, second: f64) {
        debug_assert!(2 * i + 1 < self.slots);
        if 2 * i + 1 < self.slots {
            // SAFETY: in bounds of the length napi reported for this call; the memory is
            // the array's live backing store, which nothing can detach or move before the
            // call returns to JS (see `LayoutView`), and only this thread touches it.
            unsafe {
                *self.values.add(2 * i) = first;
                *self.values.add(2 * i + 1) = second;
            }
        }
    }
}

/// Shapes numbered per thread at most; later ones get 0 (`claims.js` then compares texts).
const MAX_NUMBERED: usize = 256;

/// Longer shapes get 0 rather than being kept.
const MAX_NUMBERED_LEN: usize = 1024;

/// This thread's shape numbers: 1, 2, ... in the order the shapes were first seen.
#[derive(Default)]
struct ShapeNumbers {
    last: Vec<u8>,
    last_number: f64,
    numbers: HashMap<Box<[u8]>, f64>,
}

impl ShapeNumbers {
    /// `shape`'s number (0: none).
    fn number(&mut self, shape: &[u8]) -> f64 {
        if self.last_number > 0.0 && self.last == shape {
            return self.last_number;
        }
        if shape.len() > MAX_NUMBERED_LEN {
            return 0.0;
        }
        let number = match self.numbers.get(shape) {
            Some(number) => *number,
            None if self.numbers.len() < MAX_NUMBERED => {
                // Exact: at most MAX_NUMBERED.
                let number = (self.numbers.len() + 1) as f64;
                self.numbers.insert(shape.into(), number);
                number
            }
            None => return 0.0,
        };
        self.last.clear();
        self.last.extend_from_slice(shape);
        self.last_number = number;
        number
    }
}

thread_local! {
    /// The members of the answer being assembled (kept, so no allocation per call).
    static MEMBERS: RefCell<Vec<ClaimMember>> = const { RefCell::new(Vec::new()) };
    static SHAPES: RefCell<ShapeNumbers> = RefCell::default();
}

/// Appends U+0001 and `token`'s shape to `text` (its answer: header, U+0001, claims, all
/// ASCII; the claims from byte `claims_at`) and writes the members' numbers and the
/// shape's number to `layout`. Appends nothing when the claims have no members, more than
/// `layout` holds, or a name that is not plain.
pub(crate) fn append_shape(
    text: &mut Vec<u8>,
    token: &VerifiedToken,
    claims_at: usize,
    layout: &LayoutView,
) {
    MEMBERS.with(|cell| {
        let Ok(mut members) = cell.try_borrow_mut() else {
            return;
        };
        if !token.claim_members(&mut members)
            || members.is_empty()
            || members.len() > layout.members()
        {
            return;
        }
        let claims = token.claims_json().as_bytes();
        // Exact: answers are far below 2^53 bytes.
        let at = |offset: usize| (claims_at + offset) as f64;
        text.push(1);
        let shape_at = text.len();
        for (i, member) in members.iter().enumerate() {
            if i > 0 {
                text.push(2);
            }
            let (kind, first, second) = match &member.value {
                ClaimValue::Plain(r) => (b's', at(r.start), at(r.end)),
                ClaimValue::Integer(n) => (b'i', 0.0, *n),
                ClaimValue::True => (b't', 0.0, 0.0),
                ClaimValue::False => (b'f', 0.0, 0.0),
                ClaimValue::Null => (b'n', 0.0, 0.0),
                ClaimValue::Json(r) => (b'j', at(r.start), at(r.end)),
            };
            text.push(kind);
            text.extend_from_slice(claims.get(member.name.clone()).unwrap_or_default());
            layout.set(i, first, second);
        }
        let shape = text.get(shape_at..).unwrap_or_default();
        let number = SHAPES
            .try_with(|shapes| shapes.try_borrow_mut().map_or(0.0, |mut s| s.number(shape)))
            .unwrap_or(0.0);
        layout.set_number(number);
        if members.capacity() > 1024 {
            *members = Vec::new();
        }
    });
}
