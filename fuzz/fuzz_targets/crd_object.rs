#![no_main]
//! Fuzz target `crd_object`: see tests/support/fuzzing.rs for what it checks.

#[path = "../../tests/support/fuzzing.rs"]
mod fuzzing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::crd_object(data));
