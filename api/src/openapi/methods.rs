//! The methods each documented path takes, read from the document, so the
//! server's `405 Method Not Allowed` and its `Allow` header list exactly what
//! the document does (axum's own `Allow` lists every method of the one route
//! that serves a resource and all its `:verb`s).

use std::sync::OnceLock;

use http::Method;
use utoipa::OpenApi;

use super::ApiDoc;

/// One documented path: its segments, and the methods it takes.
#[derive(Debug)]
struct DocumentedPath {
    segments: Vec<Segment>,
    methods: Vec<Method>,
}

/// One segment of a path template.
#[derive(Debug)]
enum Segment {
    /// Text that must appear as is: `v1`, `cluster:rebalance`.
    Literal(String),
    /// `{name}`, then `suffix` (`:publish`, or empty).
    Parameter { suffix: String },
}

impl Segment {
    fn parse(template: &str) -> Self {
        match template
            .strip_prefix('{')
            .and_then(|rest| rest.split_once('}'))
        {
            Some((_, suffix)) => Segment::Parameter {
                suffix: suffix.to_owned(),
            },
            None => Segment::Literal(template.to_owned()),
        }
    }

    /// Whether a segment of a request path (still percent-encoded) matches.
    /// A parameter never holds a literal `:`, which starts the verb.
    fn matches(&self, raw: &str) -> bool {
        match self {
            Segment::Literal(text) => raw == text,
            Segment::Parameter { suffix } => raw
                .strip_suffix(suffix.as_str())
                .is_some_and(|value| !value.is_empty() && !value.contains(':')),
        }
    }
}

fn documented_paths() -> &'static [DocumentedPath] {
    static PATHS: OnceLock<Vec<DocumentedPath>> = OnceLock::new();
    PATHS.get_or_init(|| {
        ApiDoc::openapi()
            .paths
            .paths
            .into_iter()
            .map(|(template, item)| {
                let mut methods = Vec::new();
                for (method, operation) in [
                    (Method::GET, &item.get),
                    (Method::HEAD, &item.head),
                    (Method::POST, &item.post),
                    (Method::PUT, &item.put),
                    (Method::PATCH, &item.patch),
                    (Method::DELETE, &item.delete),
                    (Method::OPTIONS, &item.options),
                ] {
                    if operation.is_some() {
                        methods.push(method.clone());
                    }
                    // The server answers HEAD wherever it answers GET.
                    if method == Method::GET && operation.is_some() && item.head.is_none() {
                        methods.push(Method::HEAD);
                    }
                }
                DocumentedPath {
                    segments: template.split('/').map(Segment::parse).collect(),
                    methods,
                }
            })
            .collect()
    })
}

/// The most segments a request path can have and still be documented: the
/// documented paths have fewer (a test holds them to it).
const MAX_SEGMENTS: usize = 8;

/// The methods the document lists for a request path (as sent, still
/// percent-encoded), with `HEAD` wherever `GET` is; `None` when the document
/// has no such path.
pub fn allowed_methods(path: &str) -> Option<&'static [Method]> {
    // Asked once per request: the path is split once, onto the stack.
    let mut raw = [""; MAX_SEGMENTS];
    let mut count = 0;
    for segment in path.split('/') {
        *raw.get_mut(count)? = segment;
        count += 1;
    }
    let raw = &raw[..count];
    documented_paths()
        .iter()
        .find(|documented| {
            documented.segments.len() == count
                && documented
                    .segments
                    .iter()
                    .zip(raw)
                    .all(|(template, raw)| template.matches(raw))
        })
        .map(|documented| documented.methods.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_resource_and_verb_takes_its_own_methods() {
        let cases: [(&str, &[Method]); 7] = [
            (
                "/v1/topics/orders",
                &[Method::GET, Method::HEAD, Method::PUT, Method::DELETE],
            ),
            ("/v1/topics/orders:publish", &[Method::POST]),
            (
                "/v1/topics/orders:publishStream",
                &[Method::GET, Method::HEAD],
            ),
            (
                "/v1/subscriptions/work:deadLetters",
                &[Method::GET, Method::HEAD],
            ),
            ("/v1/subscriptions/work:pull", &[Method::POST]),
            ("/v1/cluster:rebalance", &[Method::POST]),
            ("/v1/cluster/nodes/3", &[Method::DELETE]),
        ];
        for (path, methods) in cases {
            assert_eq!(allowed_methods(path), Some(methods), "{path}");
        }
    }

    #[test]
    fn unknown_verbs_and_paths_are_not_documented() {
        for path in [
            "/v1/topics/orders:bogus",
            "/v1/topics/orders:publish/x",
            "/v1/topics/:publish",
            "/v2/topics",
        ] {
            assert_eq!(allowed_methods(path), None, "{path}");
        }
    }

    #[test]
    fn every_documented_path_fits_the_split() {
        for documented in documented_paths() {
            assert!(
                documented.segments.len() <= MAX_SEGMENTS,
                "{documented:?} has more than {MAX_SEGMENTS} segments"
            );
        }
        let deep = "/v1/topics/a/b/c/d/e/f/g/h";
        assert_eq!(
            allowed_methods(deep),
            None,
            "deeper than any documented path"
        );
    }

    #[test]
    fn an_encoded_colon_is_part_of_the_name() {
        assert_eq!(
            allowed_methods("/v1/topics/orders%3Apublish"),
            allowed_methods("/v1/topics/orders")
        );
    }
}
