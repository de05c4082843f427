//! What a verified token must satisfy and what it yields: claim checks, DPoP, the verified token and its cache. Above `remote`.

pub mod claim_accessors;
pub mod claims;
pub mod dpop;
pub mod requirement;
pub mod roles;
pub mod token;
pub mod token_cache;
