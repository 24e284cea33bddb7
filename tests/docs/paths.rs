//! Every repository path the docs name, and every link between them, exists.
//!
//! A code span is taken for a repository path when it has no spaces, no
//! `://` or `::`, does not start with `/` (an URL path), and either starts with
//! a top-level entry of the repository (`node/…`, `Makefile`) or contains a
//! `/` and ends in a source file's extension (so `broker/publish.rs`, written
//! relative to some folder, is caught as missing). A segment holding a
//! placeholder (`<area>`, `{t:p}`, `*`, `…`) ends the path: the part before it
//! must exist.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use crate::markdown::{Page, pages, repository_root};

const SOURCE_EXTENSIONS: &[&str] = &[
    ".rs", ".toml", ".lua", ".md", ".sh", ".py", ".yaml", ".yml", ".json", ".mjs", ".txt",
];

/// The repository's top-level entries, less `.git` and what `.gitignore`
/// ignores at the top (`/target`, `/data`, …): the first segments a path in
/// the docs may start with.
fn top_level_entries(root: &Path) -> BTreeSet<String> {
    let ignored: BTreeSet<String> = std::fs::read_to_string(root.join(".gitignore"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().strip_prefix('/'))
        .map(str::to_owned)
        .collect();
    std::fs::read_dir(root)
        .expect("the repository root is readable")
        .map(|entry| {
            entry
                .expect("a root entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name != ".git" && !ignored.contains(name))
        .collect()
}

/// The part of `span` to look for in the repository, if `span` is a path.
fn repository_path(span: &str, roots: &BTreeSet<String>) -> Option<PathBuf> {
    let span = span.strip_prefix("./").unwrap_or(span);
    if span.is_empty()
        || span.starts_with('/')
        || span.contains(char::is_whitespace)
        || span.contains("://")
        || span.contains("::")
    {
        return None;
    }
    let first = span.split('/').next().unwrap_or_default();
    let source_file = span.contains('/') && SOURCE_EXTENSIONS.iter().any(|ext| span.ends_with(ext));
    if !roots.contains(first) && !source_file {
        return None;
    }
    let literal: PathBuf = span
        .split('/')
        .take_while(|segment| !segment.contains(['<', '>', '{', '}', '*', '…', '|']))
        .collect();
    Some(literal)
}

/// `page`'s code spans that look like repository paths and do not exist,
/// as `README.md:12: node/src/gone.rs`.
pub fn missing_paths(page: &Page, root: &Path) -> Vec<String> {
    let roots = top_level_entries(root);
    page.code_spans()
        .into_iter()
        .filter_map(|(line, span)| {
            let path = repository_path(&span, &roots)?;
            (!root.join(&path).exists())
                .then(|| format!("{}:{line}: `{span}`", page.path.display()))
        })
        .collect()
}

/// `target` (a link of a page in `page_dir`) as a path from the repository
/// root, `..` resolved.
fn resolve(page_dir: &Path, target: &str) -> PathBuf {
    let mut resolved = PathBuf::new();
    for component in page_dir.join(target).components() {
        match component {
            Component::ParentDir => {
                resolved.pop();
            }
            Component::CurDir => {}
            other => resolved.push(other),
        }
    }
    resolved
}

/// `page`'s relative links whose file does not exist, or whose `#anchor` is
/// no heading of the page it points to. `anchors` holds every checked
/// page's anchors by path.
pub fn broken_links(
    page: &Page,
    root: &Path,
    anchors: &BTreeMap<PathBuf, BTreeSet<String>>,
) -> Vec<String> {
    let page_dir = page.path.parent().unwrap_or(Path::new(""));
    page.links()
        .into_iter()
        .filter(|(_, target)| !target.contains("://") && !target.starts_with("mailto:"))
        .filter_map(|(line, target)| {
            let (file, anchor) = match target.split_once('#') {
                Some((file, anchor)) => (file, Some(anchor)),
                None => (target.as_str(), None),
            };
            let path = if file.is_empty() {
                page.path.clone()
            } else {
                resolve(page_dir, file)
            };
            let problem = if !file.is_empty() && !root.join(&path).exists() {
                Some("no such file")
            } else {
                match (anchor, anchors.get(&path)) {
                    (Some(anchor), Some(known)) if !known.contains(anchor) => {
                        Some("no such heading")
                    }
                    _ => None,
                }
            };
            problem.map(|problem| format!("{}:{line}: ({target}): {problem}", page.path.display()))
        })
        .collect()
}

#[test_log::test]
fn every_repository_path_the_docs_name_exists() {
    let root = repository_root();
    let pages = pages();
    tracing::info!(
        pages = pages.len(),
        "act: look up every path the pages name"
    );
    let missing: Vec<String> = pages
        .iter()
        .flat_map(|page| missing_paths(page, &root))
        .collect();
    assert!(
        missing.is_empty(),
        "the docs name paths that do not exist (moved? write the path from the repository root):\n{}",
        missing.join("\n")
    );
}

#[test_log::test]
fn every_link_between_the_docs_resolves() {
    let root = repository_root();
    let pages = pages();
    let anchors: BTreeMap<PathBuf, BTreeSet<String>> = pages
        .iter()
        .map(|page| (page.path.clone(), page.anchors()))
        .collect();
    tracing::info!(pages = pages.len(), "act: follow every relative link");
    let broken: Vec<String> = pages
        .iter()
        .flat_map(|page| broken_links(page, &root, &anchors))
        .collect();
    assert!(
        broken.is_empty(),
        "broken links in the docs:\n{}",
        broken.join("\n")
    );
}

#[test_log::test]
fn the_readme_links_every_page_under_docs() {
    let readme = Page::read("README.md");
    let linked: BTreeSet<String> = readme
        .links()
        .into_iter()
        .map(|(_, target)| target)
        .collect();
    let unlinked: Vec<String> = pages()
        .into_iter()
        .filter(|page| page.path.starts_with("docs"))
        .map(|page| page.path.display().to_string())
        .filter(|path| !linked.contains(path))
        .collect();
    assert!(
        unlinked.is_empty(),
        "README.md's \"Where to read next\" must link every docs page; missing: {unlinked:?}"
    );
}

#[test_log::test]
fn a_path_or_link_that_does_not_exist_is_reported() {
    tracing::info!("arrange: a page naming real and missing paths, links and anchors");
    let page = Page {
        path: PathBuf::from("docs/example.md"),
        text: [
            "# Example",
            "Real: `node/src/lib.rs`, `cli/bench/`, `tests/docs/main.rs`, `node/tests/<area>/main.rs`.",
            "Missing: `node/src/nowhere.rs` and `broker/publish.rs` (relative, so not found).",
            "Not paths: `/v1/topics/{topic}`, `application/problem+json`, `api::Client`,",
            "`redis://127.0.0.1:6379`, `<prefix>:{t:p}:log`, `--log-level`.",
            "```sh",
            "echo `node/src/fenced.rs` # inside a fence: a command, not checked",
            "```",
            "[ok](../README.md) [ok](#example) [gone](api-gone.md) [bad anchor](#nothing) [web](https://example.com/x)",
        ]
        .join("\n"),
    };
    let root = repository_root();
    let anchors = BTreeMap::from([(page.path.clone(), page.anchors())]);

    tracing::info!("act: check it");
    let missing = missing_paths(&page, &root);
    let broken = broken_links(&page, &root, &anchors);

    tracing::info!("assert: exactly the missing ones are reported, with their lines");
    assert_eq!(
        missing,
        [
            "docs/example.md:3: `node/src/nowhere.rs`",
            "docs/example.md:3: `broker/publish.rs`",
        ]
    );
    assert_eq!(
        broken,
        [
            "docs/example.md:9: (api-gone.md): no such file",
            "docs/example.md:9: (#nothing): no such heading",
        ]
    );
}
