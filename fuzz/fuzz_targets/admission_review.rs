#![no_main]
//! Fuzz target `admission_review`: see tests/support/fuzzing.rs for what it checks.

#[path = "../../tests/support/fuzzing.rs"]
mod fuzzing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::admission_review(data));
