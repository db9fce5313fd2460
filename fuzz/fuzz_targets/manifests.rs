#![no_main]
//! Fuzz target `manifests`: see tests/support/fuzzing.rs for what it checks.

#[path = "../../tests/support/fuzzing.rs"]
mod fuzzing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::manifests(data));
