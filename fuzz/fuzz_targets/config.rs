//! (f) Configuration text as TOML, YAML and JSON: never a panic; a configuration that
//! parses and names only static keys builds a verifier or is refused with a code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veritoken::{Config, Format, KeySource, Verifier};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = [Format::Toml, Format::Yaml, Format::Json][usize::from(which % 3)];
    let Ok(config) = Config::parse(text, format) else {
        return;
    };
    // No network and no files: only configurations whose keys are all inline.
    let offline = config.issuers.iter().all(|i| {
        i.jwks_uri.is_none()
            && !i.discovery
            && i.introspection.is_none()
            && i.keys.iter().all(|k| match k {
                KeySource::Jwks(_) | KeySource::Secret(_) => true,
                KeySource::Pem(p) => p.path.is_none(),
                KeySource::JwksFile(_) => false,
            })
    });
    if offline {
        if let Err(e) = Verifier::new(config) {
            assert!(!e.message().is_empty());
        }
    }
});
