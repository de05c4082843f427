//! Core's metric families through the C API, so exporters (the Go package's Prometheus
//! collector) take the sidecar's names from the one table instead of a copy.

use crate::{guard, vt_result, vt_verifier, Fail};
use std::ffi::{c_char, CString};
use std::sync::OnceLock;

/// name, help, type as C strings, made once.
fn families() -> &'static [[CString; 3]] {
    static TABLE: OnceLock<Vec<[CString; 3]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        veritoken::ENGINE_FAMILIES
            .iter()
            .map(|f| [f.name, f.help, f.kind.as_str()].map(|s| CString::new(s).unwrap_or_default()))
            .collect()
    })
}

/// The number of engine metric families (indexes 0 to count - 1 of `vt_metric_family`).
#[no_mangle]
pub extern "C" fn vt_metric_family_count() -> usize {
    veritoken::ENGINE_FAMILIES.len()
}

/// Engine metric family `index`: its name (counters' samples add `_total`), help and
/// Prometheus type ("counter"), as static strings. The same families as the sidecar's
/// `/metrics`, labelled `client` there. VT_INVALID_ARGUMENT past the end or for NULL outputs.
#[no_mangle]
pub unsafe extern "C" fn vt_metric_family(
    index: usize,
    name: *mut *const c_char,
    help: *mut *const c_char,
    kind: *mut *const c_char,
) -> vt_result {
    guard(std::ptr::null_mut(), 0, || {
        let family = families()
            .get(index)
            .ok_or(Fail::Argument("index is past the last family"))?;
        if name.is_null() || help.is_null() || kind.is_null() {
            return Err(Fail::Argument("an output pointer is NULL"));
        }
        // SAFETY: checked non-null; the caller promises writable pointers.
        unsafe {
            *name = family[0].as_ptr();
            *help = family[1].as_ptr();
            *kind = family[2].as_ptr();
        }
        Ok(())
    })
}

/// Writes each engine family's current value for `verifier`, in `vt_metric_family` order,
/// into `out` (`out_len` >= `vt_metric_family_count()`, else VT_BUFFER_TOO_SMALL).
#[no_mangle]
pub unsafe extern "C" fn vt_verifier_metric_values(
    verifier: *const vt_verifier,
    out: *mut u64,
    out_len: usize,
) -> vt_result {
    guard(std::ptr::null_mut(), 0, || {
        // SAFETY: NULL or a verifier made by vt_verifier_new.
        let verifier = unsafe { verifier.as_ref() }.ok_or(Fail::Argument("verifier is NULL"))?;
        let count = veritoken::ENGINE_FAMILIES.len();
        if out.is_null() {
            return Err(Fail::Argument("out is NULL"));
        }
        if out_len < count {
            return Err(Fail::TooSmall);
        }
        let snapshot = verifier.0.metrics();
        for (i, family) in veritoken::ENGINE_FAMILIES.iter().enumerate() {
            // SAFETY: i < count <= out_len, and the caller promises out_len writable values.
            unsafe { *out.add(i) = family.read(&snapshot).unwrap_or(0) };
        }
        Ok(())
    })
}
