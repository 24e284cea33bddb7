//! The error table of `docs/api.md` is `api::ErrorCode`: every code with its
//! status and `retryable`, and no other.

use std::collections::BTreeMap;

use api::ErrorCode;

use crate::markdown::{Page, plain};

#[test_log::test]
fn the_error_table_is_every_code_with_its_status_and_retryability() {
    let documented: BTreeMap<String, (u16, bool)> = Page::read("docs/api.md")
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
            (code, (status, retryable))
        })
        .collect();
    let sent: BTreeMap<String, (u16, bool)> = ErrorCode::ALL
        .iter()
        .map(|code| (code.to_string(), (code.status(), code.retryable())))
        .collect();
    assert_eq!(
        documented, sent,
        "docs/api.md's error table (left) and api::ErrorCode (right) differ"
    );
}
