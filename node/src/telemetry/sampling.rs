//! [`Sampling`]: which spans reach OpenTelemetry, decided before any of them
//! is built.
//!
//! `tracing-opentelemetry` builds an OpenTelemetry span (a builder, its
//! attributes, ids, a context) for every `tracing` span it sees and leaves the
//! sampling decision to the SDK when the span starts; an unsampled request
//! would still pay for every span it opens. This per-layer filter decides
//! first, so the OpenTelemetry layer never sees an unsampled span:
//!
//! - a span with target [`ROOT`] (a client request without `traceparent`)
//!   starts a trace with the configured ratio;
//! - a span with target [`TRACED`] (its parent set from a caller's
//!   `traceparent` or a message's sampled creation context) is always seen;
//!   the SDK's parent-based sampler follows the parent's sampled flag;
//! - any other span or event is seen only inside a span this filter let
//!   through. Spans opened outside any request (background loops) are not
//!   traced.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::{Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::LookupSpan;

/// The target of a span that starts a trace, sampled with the ratio.
pub const ROOT: &str = "pubsubgo_node::trace::root";
/// The target of a span whose parent is set explicitly to a sampled context.
pub const TRACED: &str = "pubsubgo_node::trace::traced";

/// The filter of the OpenTelemetry layer.
#[derive(Debug)]
pub struct Sampling {
    /// A root is sampled when a draw is below this; `None`: always.
    threshold: Option<u64>,
    /// The state of a SplitMix64 sequence: one atomic add a draw.
    state: AtomicU64,
}

impl Sampling {
    /// Starts a trace at a [`ROOT`] span with probability `ratio` (clamped to 0..=1).
    pub fn new(ratio: f64) -> Self {
        let ratio = ratio.clamp(0.0, 1.0);
        Self {
            // The cast saturates; 1.0 would round to 2^64.
            threshold: (ratio < 1.0).then(|| (ratio * 2f64.powi(64)) as u64),
            state: AtomicU64::new(RandomState::new().hash_one(std::process::id())),
        }
    }

    fn draw(&self) -> bool {
        let Some(threshold) = self.threshold else {
            return true;
        };
        const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut z = self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) < threshold
    }
}

impl<S> Filter<S> for Sampling
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        match meta.target() {
            TRACED => true,
            ROOT => self.draw(),
            // `cx.span` answers only for spans this layer's filter enabled.
            _ => cx
                .current_span()
                .id()
                .is_some_and(|id| cx.span(id).is_some()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::span;
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Records the names of the spans it sees.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<&'static str>>>);

    impl<S: Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Seen {
        fn on_new_span(
            &self,
            attrs: &span::Attributes<'_>,
            _: &span::Id,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            self.0.lock().expect("seen").push(attrs.metadata().name());
        }
    }

    /// The spans `Sampling::new(ratio)` lets through while `f` runs; a
    /// second layer (the logs) sees every span, so filtered-out spans exist.
    fn seen_with(ratio: f64, f: impl FnOnce()) -> Vec<&'static str> {
        let seen = Seen::default();
        let subscriber = tracing_subscriber::registry()
            .with(Seen::default().with_filter(LevelFilter::TRACE))
            .with(seen.clone().with_filter(Sampling::new(ratio)));
        tracing::subscriber::with_default(subscriber, f);
        seen.0.lock().expect("seen").clone()
    }

    fn request() {
        let root = tracing::info_span!(target: ROOT, "request");
        let _entered = root.enter();
        let child = tracing::info_span!("publish");
        let _in_child = child.enter();
        drop(tracing::info_span!("redis"));
        drop(tracing::info_span!(target: TRACED, parent: None, "process"));
    }

    #[test]
    fn a_sampled_request_is_seen_with_every_span_inside_it() {
        assert_eq!(
            seen_with(1.0, request),
            ["request", "publish", "redis", "process"]
        );
    }

    #[test]
    fn an_unsampled_request_hides_its_spans_but_not_explicitly_traced_ones() {
        assert_eq!(seen_with(0.0, request), ["process"]);
    }

    #[test]
    fn a_span_outside_any_request_is_not_traced() {
        let seen = seen_with(1.0, || drop(tracing::info_span!("background")));
        assert!(seen.is_empty(), "{seen:?}");
    }

    #[test]
    fn roots_are_sampled_at_the_ratio() {
        let draws = 100_000;
        let count = |ratio: f64| {
            let sampling = Sampling::new(ratio);
            (0..draws).filter(|_| sampling.draw()).count()
        };
        assert_eq!(count(0.0), 0);
        assert_eq!(count(1.0), draws);
        let hundredth = count(0.01);
        assert!((800..1200).contains(&hundredth), "{hundredth} of {draws}");
        let half = count(0.5);
        assert!((49_000..51_000).contains(&half), "{half} of {draws}");
    }
}
