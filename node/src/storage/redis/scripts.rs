//! The Lua scripts, each run atomically on the slot of its partition's hash
//! tag. Every key a script touches is passed in `KEYS` and shares that tag.
//! The sources are in `lua/`; `prelude.lua` (number formatting and a binary
//! search over offsets) is prepended to each.

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

/// Epoch fence, XADD of the batch, byte counter: one round trip per batch.
pub(crate) static APPEND: LazyLock<Script> = script!("append.lua");
/// Retention by age and size, XTRIM MINID at the cut.
pub(crate) static TRIM: LazyLock<Script> = script!("trim.lua");
/// The first offset published at or after a time.
pub(crate) static SEEK: LazyLock<Script> = script!("seek.lua");
/// A cursor's changes, fenced by the owner epoch like appends.
pub(crate) static CURSOR_WRITE: LazyLock<Script> = script!("cursor_write.lua");
/// A subscription's initial cursor, placed atomically with appends.
pub(crate) static CREATE_SUBSCRIPTION: LazyLock<Script> = script!("create_subscription.lua");
