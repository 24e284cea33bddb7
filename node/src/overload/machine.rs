//! How much memory this process may have: the container's limit (cgroup v2
//! `memory.max`) when one is set, else the machine's (`MemTotal` in
//! `/proc/meminfo`). The default memory bound is a share of it
//! ([`crate::config::overload::DEFAULT_MEMORY_SHARE`]).

use std::path::Path;

/// Assumed when neither the cgroup nor `/proc/meminfo` can be read (not Linux).
const FALLBACK_BYTES: u64 = 1024 * 1024 * 1024;

/// The memory limit of this process's container, else of the machine.
pub fn machine_memory_bytes() -> u64 {
    cgroup_limit(Path::new("/proc/self/cgroup"), Path::new("/sys/fs/cgroup"))
        .or_else(|| mem_total(Path::new("/proc/meminfo")))
        .unwrap_or(FALLBACK_BYTES)
}

/// `memory.max` of this process's cgroup v2 (`0::/path` in `/proc/self/cgroup`),
/// `None` when it is `max` (no limit) or cannot be read.
fn cgroup_limit(self_cgroup: &Path, root: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(self_cgroup).ok()?;
    let path = text.lines().find_map(|line| line.strip_prefix("0::"))?;
    let file = root.join(path.trim_start_matches('/')).join("memory.max");
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn mem_total(meminfo: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(meminfo).ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cgroup_limit_is_read_from_the_process_cgroup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let self_cgroup = dir.path().join("cgroup");
        std::fs::write(&self_cgroup, "0::/pods/broker\n").expect("write");
        let group = dir.path().join("root/pods/broker");
        std::fs::create_dir_all(&group).expect("mkdir");
        std::fs::write(group.join("memory.max"), "536870912\n").expect("write");
        assert_eq!(
            cgroup_limit(&self_cgroup, &dir.path().join("root")),
            Some(512 * 1024 * 1024)
        );

        std::fs::write(group.join("memory.max"), "max\n").expect("write");
        assert_eq!(
            cgroup_limit(&self_cgroup, &dir.path().join("root")),
            None,
            "no limit: the machine's memory counts"
        );
    }

    #[test]
    fn mem_total_is_read_in_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let meminfo = dir.path().join("meminfo");
        std::fs::write(
            &meminfo,
            "MemTotal:       24576000 kB\nMemFree:         1000 kB\n",
        )
        .expect("write");
        assert_eq!(mem_total(&meminfo), Some(24_576_000 * 1024));
        assert!(machine_memory_bytes() > 0);
    }
}
