//! Arbitrary bytes cut into arbitrary chunks, through `ssewire::Decoder`:
//! - it never panics;
//! - after every chunk it holds no more than its limits allow (checked in `run`);
//! - whole or chunked, it gives the same events, retry updates, comments and errors;
//! - within its limits, it agrees with the naive reference decoder.
//!
//! The first bytes of the input choose the limits and the chunk sizes.
//!
//! ```text
//! cargo fuzz run decode --sanitizer none -- -max_total_time=60
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;
use ssewire::Decoder;

#[path = "../../tests/decode_reference/mod.rs"]
mod decode_reference;
use decode_reference::{reference, run, Item};

fuzz_target!(|input: &[u8]| {
    let Some((&[mode, line, event, s0, s1, s2, s3], stream)) = input.split_first_chunk::<7>()
    else {
        return;
    };
    let sizes: Vec<usize> = [s0, s1, s2, s3]
        .iter()
        .map(|&s| usize::from(s % 32) + 1)
        .collect();
    // Half the runs with tiny limits (they are crossed all the time), half with the
    // defaults (then the reference must agree).
    let tiny = mode & 1 == 1;
    let decoder = || {
        if tiny {
            Decoder::new()
                .with_max_line_size(usize::from(line % 64))
                .with_max_event_size(usize::from(event % 128))
        } else {
            Decoder::new()
        }
    };
    let whole = run(decoder(), stream, &[usize::MAX]);
    let chunked = run(decoder(), stream, &sizes);
    assert_eq!(whole, chunked, "whole and chunked differ");
    if mode & 2 == 2 {
        assert_eq!(
            whole,
            run(decoder(), stream, &[1]),
            "whole and byte by byte differ"
        );
    }
    if !whole.iter().any(|item| matches!(item, Item::Error(_))) {
        assert_eq!(whole, reference(stream), "differs from the reference");
    }
});
