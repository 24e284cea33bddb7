//! [`Page`]: one Markdown file of the repository, read as the checks need it:
//! code spans and links outside fenced code, heading anchors, and the rows of
//! a table under a heading.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

static CODE_SPAN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`([^`\n]+)`").expect("code span pattern"));
static LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\]\(([^)\s]+)\)").expect("link pattern"));

/// The repository's root: the parent of the `tests` crate.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the repository")
        .to_path_buf()
}

/// The pages whose statements the checks hold to the code: the README and
/// every page under `docs/`.
pub fn pages() -> Vec<Page> {
    let root = repository_root();
    let mut names = vec![PathBuf::from("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ is readable")
        .map(|entry| entry.expect("a docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| Path::new("docs").join(path.file_name().expect("a file name")))
        .collect();
    docs.sort();
    names.extend(docs);
    names.iter().map(Page::read).collect()
}

/// One Markdown page, by its path relative to the repository root.
#[derive(Debug, Clone)]
pub struct Page {
    pub path: PathBuf,
    pub text: String,
}

impl Page {
    /// Reads `relative` (to the repository root).
    pub fn read(relative: impl AsRef<Path>) -> Self {
        let relative = relative.as_ref();
        let text = std::fs::read_to_string(repository_root().join(relative))
            .unwrap_or_else(|e| panic!("read {}: {e}", relative.display()));
        Self {
            path: relative.to_path_buf(),
            text,
        }
    }

    /// The lines outside fenced code blocks, with their line numbers
    /// (1-based): what a reader sees as prose, tables and lists.
    fn prose_lines(&self) -> impl Iterator<Item = (usize, &str)> {
        let mut fenced = false;
        self.text
            .lines()
            .enumerate()
            .filter_map(move |(index, line)| {
                if line.trim_start().starts_with("```") {
                    fenced = !fenced;
                    return None;
                }
                (!fenced).then_some((index + 1, line))
            })
    }

    /// Every inline code span outside fenced code, with its line.
    pub fn code_spans(&self) -> Vec<(usize, String)> {
        self.prose_lines()
            .flat_map(|(line, text)| {
                CODE_SPAN
                    .captures_iter(text)
                    .map(move |c| (line, c[1].to_owned()))
            })
            .collect()
    }

    /// Every link target (`[text](target)`) outside fenced code, with its line.
    pub fn links(&self) -> Vec<(usize, String)> {
        self.prose_lines()
            .flat_map(|(line, text)| {
                LINK.captures_iter(text)
                    .map(move |c| (line, c[1].to_owned()))
            })
            .collect()
    }

    /// The anchors GitHub gives the page's headings.
    pub fn anchors(&self) -> BTreeSet<String> {
        self.prose_lines()
            .filter_map(|(_, line)| line.strip_prefix('#'))
            .map(|heading| slug(heading.trim_start_matches('#')))
            .collect()
    }

    /// The body rows of the first table under the heading `heading` (e.g.
    /// `## Errors`), each row's cells trimmed; an escaped `\|` stays in its
    /// cell as `|`.
    pub fn table_under(&self, heading: &str) -> Vec<Vec<String>> {
        let mut lines = self
            .prose_lines()
            .skip_while(|(_, line)| line.trim_end() != heading)
            .skip(1)
            .map(|(_, line)| line.trim())
            .skip_while(|line| !line.starts_with('|'));
        let header = lines.next();
        assert!(
            header.is_some(),
            "{} has a table under {heading:?}",
            self.path.display()
        );
        lines
            .take_while(|line| line.starts_with('|'))
            .skip(1) // the |---| separator
            .map(|line| {
                line.replace("\\|", "\u{0}")
                    .trim_matches('|')
                    .split('|')
                    .map(|cell| cell.trim().replace('\u{0}', "|"))
                    .collect()
            })
            .collect()
    }
}

/// The anchor GitHub makes of a heading: lowercase, punctuation dropped
/// except `-` and `_`, spaces as `-`.
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// `text` without its code-span backticks.
pub fn plain(text: &str) -> String {
    text.replace('`', "")
}
