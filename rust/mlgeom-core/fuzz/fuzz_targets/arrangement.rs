//! `cargo +nightly fuzz run arrangement` (from rust/mlgeom-core): bytes → a small arrangement → partition →
//! invariants (see ../harness.rs).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::check(data);
});
