//! The Rust client's reading of error answers: an `application/problem+json`
//! body (`api::Problem`) from whatever server it reached. Any body is
//! answered without a panic; an accepted problem encodes and decodes back to
//! itself, and its code and text render.
#![no_main]

use api::Problem;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(problem) = serde_json::from_slice::<Problem>(input) else {
        return;
    };
    let _ = (
        problem.code.retryable(),
        problem.code.status(),
        problem.to_string(),
    );
    let again = serde_json::to_vec(&problem).expect("a decoded problem encodes");
    let decoded: Problem = serde_json::from_slice(&again).expect("and decodes again");
    assert_eq!(decoded, problem);
});
