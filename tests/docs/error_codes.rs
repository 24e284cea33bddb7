//! The error table of `docs/api.md` is `api::ErrorCode`: every code with its
//! status, `retryable` and outcome (definite or unknown), and no other.

use std::collections::BTreeMap;

use api::ErrorCode;

use crate::markdown::{Page, plain};

#[test_log::test]
fn the_error_table_is_every_code_with_its_status_and_retryability() {
    let documented: BTreeMap<String, (u16, bool, bool)> = Page::read("docs/api.md")
        .table_under("## Errors")
        .into_iter()
        .map(|cells| {
            let (code, status) = plain(&cells[0])
                .split_once(' ')
                .map(|(code, status)| (code.to_owned(), status.to_owned()))
                .unwrap_or_else(|| panic!("an error row starts with `CODE` STATUS: {cells:?}"));
            let status = status.parse().expect("a numeric status");
            let retryable = match cells[1].as_str() {
                "yes" => true,
                "no" => false,
                other => panic!("retryable is yes or no, not {other:?}"),
            };
            let definite = match cells[2].as_str() {
                "definite" => true,
                "unknown" => false,
                other => panic!("the outcome is definite or unknown, not {other:?}"),
            };
            (code, (status, retryable, definite))
        })
        .collect();
    let sent: BTreeMap<String, (u16, bool, bool)> = ErrorCode::ALL
        .iter()
        .map(|code| {
            let row = (code.status(), code.retryable(), code.definite());
            (code.to_string(), row)
        })
        .collect();
    assert_eq!(
        documented, sent,
        "docs/api.md's error table (left) and api::ErrorCode (right) differ"
    );
}
