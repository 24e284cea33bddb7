//! The Lua scripts, each run atomically on the slot of its partition's hash
//! tag. Every key a script touches is passed in `KEYS` and shares that tag.
//! The sources are in `lua/`; `prelude.lua` (number formatting, a binary
//! search over offsets, the checks shared by both append scripts) is
//! prepended to each.

use std::sync::LazyLock;

use redis::Script;

macro_rules! script {
    ($file:literal) => {
        LazyLock::new(|| {
            Script::new(concat!(
                include_str!("lua/prelude.lua"),
                "\n",
                include_str!(concat!("lua/", $file))
            ))
        })
    };
}

/// Epoch fence, XADD of the batch in entry format 1, byte counter: one round
/// trip per batch.
pub(crate) static APPEND: LazyLock<Script> = script!("append.lua");
/// The same in entry format 2 (`packed_entry`): one argument per message.
pub(crate) static APPEND_PACKED: LazyLock<Script> = script!("append_packed.lua");
/// Retention by age and size, XTRIM MINID at the cut.
pub(crate) static TRIM: LazyLock<Script> = script!("trim.lua");
/// The first offset published at or after a time.
pub(crate) static SEEK: LazyLock<Script> = script!("seek.lua");
/// A cursor's changes, fenced by the owner epoch like appends.
pub(crate) static CURSOR_WRITE: LazyLock<Script> = script!("cursor_write.lua");
/// A subscription's initial cursor, placed atomically with appends.
pub(crate) static CREATE_SUBSCRIPTION: LazyLock<Script> = script!("create_subscription.lua");
