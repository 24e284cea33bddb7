//! Which of a standalone server's connections carries a command: the one
//! the hash tag of its first tagged key picks (`{topic:partition}`, as Redis
//! Cluster picks a slot), so one partition's calls keep their order on one
//! connection.

use redis::Cmd;

/// Which of `members` connections (0 is the first) carries `cmd`: the one its
/// first tagged key's hash tag picks; `None` (the first) when there is one
/// connection or no tagged key.
pub(super) fn member_index(cmd: &Cmd, members: usize) -> Option<usize> {
    if members < 2 {
        return None;
    }
    let tag = cmd.args_iter().find_map(|arg| match arg {
        redis::Arg::Simple(bytes) => hash_tag(bytes),
        _ => None,
    })?;
    usize::try_from(xxhash_rust::xxh3::xxh3_64(tag) % members as u64).ok()
}

/// The hash tag of a key, as Redis Cluster reads it: what is between the
/// first `{` and the next `}`, if that is not empty. Every key of one
/// partition carries `{topic:partition}`.
fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&b| b == b'{')?;
    let rest = &key[open + 1..];
    let close = rest.iter().position(|&b| b == b'}')?;
    (close > 0).then(|| &rest[..close])
}

#[cfg(test)]
mod tests {
    use super::{hash_tag, member_index};

    #[test]
    fn a_hash_tag_is_what_the_first_braces_hold() {
        assert_eq!(hash_tag(b"ps:{orders:3}:log"), Some(&b"orders:3"[..]));
        assert_eq!(hash_tag(b"ps:{}:log"), None);
        assert_eq!(hash_tag(b"ps:orders"), None);
        assert_eq!(hash_tag(b"ps:{orders"), None);
    }

    #[test]
    fn each_partitions_calls_keep_to_one_connection_and_partitions_spread() {
        let log = |partition: u32| format!("ps:{{orders:{partition}}}:log");
        let read = |partition| {
            let mut cmd = redis::cmd("XRANGE");
            cmd.arg(log(partition)).arg("-").arg("+");
            cmd
        };
        let script = |partition| {
            let mut cmd = redis::cmd("EVALSHA");
            cmd.arg("0123abcd").arg(1).arg(log(partition)).arg("{data}");
            cmd
        };
        let picked: Vec<Option<usize>> = (0..8).map(|p| member_index(&read(p), 2)).collect();
        for (partition, index) in (0..8).zip(&picked) {
            assert_eq!(member_index(&script(partition), 2), *index);
        }
        assert!(
            picked.contains(&Some(0)) && picked.contains(&Some(1)),
            "{picked:?}"
        );
        assert_eq!(member_index(&read(0), 1), None);
        assert_eq!(member_index(&redis::cmd("PING"), 2), None);
    }
}
