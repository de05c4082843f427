//! Route requirements: scopes, role policies and claim rules checked against a verified token or claims text.

use crate::*;

/// A route requirement (scopes, role policies, claim rules): built once per route.
pub struct vt_requirement(pub(crate) Requirement);

/// Builds a route requirement from JSON text, e.g.
/// `{"scopes": ["read"], "roles": ["my_service:admin"], "rules": [{"claim": "tenant",
/// "equals": "t-1"}]}` (fields: scopes, scope_match, roles, role_match, role_claim, rules;
/// roles are "rn:role" or "rn:role@tenant"). VT_CONFIG_INVALID names the bad field. On
/// VT_OK `*out` owns it; free it with `vt_requirement_free`. Usable from any thread.
#[no_mangle]
pub unsafe extern "C" fn vt_requirement_new(
    requirement_json: *const c_char,
    out: *mut *mut vt_requirement,
    err: *mut c_char,
    err_len: usize,
) -> vt_result {
    guard(err, err_len, || {
        // SAFETY: the caller's string contract.
        let json = unsafe { text(requirement_json, "requirement_json is NULL or not UTF-8") }?;
        if out.is_null() {
            return Err(Fail::Argument("out is NULL"));
        }
        let requirement = Requirement::parse(json, Format::Json)?;
        // SAFETY: checked non-null above.
        unsafe { give(out, vt_requirement(requirement)) };
        Ok(())
    })
}

/// Frees a requirement. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn vt_requirement_free(requirement: *mut vt_requirement) {
    // SAFETY: NULL or a requirement from vt_requirement_new, freed once.
    unsafe { free_boxed(requirement) }
}

/// VT_OK when the token meets the requirement; VT_SCOPE_INSUFFICIENT (a failing claim
/// rule names its claim in `claim`) or VT_CLAIM_INVALID (a scope or role claim of the
/// wrong shape) otherwise, with the message in `err`.
#[no_mangle]
pub unsafe extern "C" fn vt_token_check(
    token: *const vt_token,
    requirement: *const vt_requirement,
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
) -> vt_result {
    guard_claim(err, err_len, claim, claim_len, || {
        // SAFETY: NULL or handles made by this library.
        let (token, requirement) = unsafe { (token.as_ref(), requirement.as_ref()) };
        let (Some(token), Some(requirement)) = (token, requirement) else {
            return Err(Fail::Argument("token or requirement is NULL"));
        };
        requirement.0.check(&token.token)?;
        Ok(())
    })
}

/// `vt_token_check` for a claims set held as JSON text (what `vt_token_claims_json` gave).
#[no_mangle]
pub unsafe extern "C" fn vt_claims_check(
    claims_json: *const c_char,
    requirement: *const vt_requirement,
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
) -> vt_result {
    guard_claim(err, err_len, claim, claim_len, || {
        // SAFETY: the caller's string contract; NULL or a requirement made here.
        let (claims, requirement) = unsafe { (claims_of(claims_json)?, requirement.as_ref()) };
        let requirement = requirement.ok_or(Fail::Argument("requirement is NULL"))?;
        requirement.0.check_claims(&claims)?;
        Ok(())
    })
}

/// VT_OK when the token grants the `n` scopes in `scopes` (all of them, or any one when
/// `match_any` is non-zero); VT_SCOPE_INSUFFICIENT or VT_CLAIM_INVALID otherwise, with the
/// message in `err` and the claim named in `claim` as for `vt_verify`.
#[no_mangle]
pub unsafe extern "C" fn vt_token_require_scopes(
    token: *const vt_token,
    scopes: *const *const c_char,
    n: usize,
    match_any: i32,
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
) -> vt_result {
    guard_claim(err, err_len, claim, claim_len, || {
        // SAFETY: NULL or a token made by vt_verify.
        let token = unsafe { token.as_ref() }.ok_or(Fail::Argument("token is NULL"))?;
        // SAFETY: the caller's array contract.
        let required = unsafe { strings(scopes, n, "a scope is NULL or not UTF-8") }?;
        token
            .token
            .require_scopes(&required, scope_match(match_any))?;
        Ok(())
    })
}

/// `vt_token_require_scopes` for a claims set held as JSON text (what `vt_token_claims_json`
/// gave), for callers that keep the claims rather than the token handle.
#[no_mangle]
pub unsafe extern "C" fn vt_claims_require_scopes(
    claims_json: *const c_char,
    scopes: *const *const c_char,
    n: usize,
    match_any: i32,
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
) -> vt_result {
    guard_claim(err, err_len, claim, claim_len, || {
        // SAFETY: the caller's string and array contracts.
        let (claims, required) = unsafe {
            (
                claims_of(claims_json)?,
                strings(scopes, n, "a scope is NULL or not UTF-8")?,
            )
        };
        veritoken::require_scopes(&claims, &required, scope_match(match_any))?;
        Ok(())
    })
}

pub(crate) fn scope_match(match_any: i32) -> ScopeMatch {
    if match_any != 0 {
        ScopeMatch::Any
    } else {
        ScopeMatch::All
    }
}
