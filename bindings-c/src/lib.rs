//! libveritoken: the veritoken engine behind a C API (see `include/veritoken.h` for the
//! conventions). This crate converts types and maps errors; every rule lives in `veritoken`.
//!
//! Entry points never unwind into C: each runs under `catch_unwind` and reports a panic as
//! `VT_INTERNAL`.

#![allow(non_camel_case_types)]
// The C caller owns the pointers; each function documents what it requires.
#![allow(clippy::missing_safety_doc)]

// In the order the header presents them (cbindgen follows the declarations; rustfmt
// keeps the order of `mod` lines that blank lines separate).
mod result;

mod verifier;

mod token;

mod accessor_record;

mod requirement;

mod request;

mod error_answers;

mod logging;

mod metric_families;

mod boundary;
pub use accessor_record::*;
pub(crate) use boundary::*;
pub use error_answers::*;
pub use logging::*;
pub use metric_families::*;
pub use request::*;
pub use requirement::*;
pub use result::*;
pub use token::*;
pub use verifier::*;

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;
use veritoken::{
    Config, DpopProof, Error, ErrorCode, Format, Requirement, ScopeMatch, SimpleRequest,
    VerifiedToken, Verifier,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_match_the_engine_codes() {
        for code in ErrorCode::ALL {
            let r = vt_result::from(*code);
            assert_eq!(r as u32, code.as_int());
            assert_eq!(code_of(r as i32), Some(*code));
            // SAFETY: static NUL-terminated strings.
            let name = unsafe { CStr::from_ptr(vt_result_name(r as i32)) }
                .to_str()
                .unwrap();
            assert_eq!(name, code.as_str());
        }
        assert_eq!(
            vt_result_http_status(vt_result::VT_SCOPE_INSUFFICIENT as i32),
            403
        );
        assert_eq!(vt_result_http_status(vt_result::VT_OK as i32), 0);
        assert_eq!(
            vt_result_http_status(vt_result::VT_REPLAY_STORE_UNAVAILABLE as i32),
            503
        );
    }

    #[test]
    fn numbers_outside_the_enum_are_answered() {
        for n in [-1, 24, 99, 103, i32::MIN, i32::MAX] {
            // SAFETY: a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(vt_result_name(n)) };
            assert_eq!(name.to_str().unwrap(), "unknown", "{n}");
            assert_eq!(vt_result_http_status(n), 0, "{n}");
        }
    }

    #[test]
    fn messages_truncate_on_char_boundaries() {
        let mut buf = [0x55 as c_char; 6];
        // SAFETY: a 6-byte buffer.
        unsafe { write_message(buf.as_mut_ptr(), 6, "zoë is here") };
        // SAFETY: NUL-terminated by write_message.
        let text = unsafe { CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(text.to_str().unwrap(), "zoë ");
    }

    #[test]
    fn header_is_up_to_date() {
        let dir = env!("CARGO_MANIFEST_DIR");
        let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).unwrap();
        let mut generated = Vec::new();
        cbindgen::Builder::new()
            .with_crate(dir)
            .with_config(config)
            .generate()
            .unwrap()
            .write(&mut generated);
        let path = format!("{dir}/include/veritoken.h");
        if std::env::var_os("VERITOKEN_WRITE_HEADER").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            generated == committed,
            "include/veritoken.h is out of date: run `make header` and commit it"
        );
    }
}
