//! Publishes that arrive together on one publish stream, stored with one append
//! per partition instead of one per request.

use std::sync::Arc;

use api::limits;
use api::types::{PublishRequest, PublishResponse};

use super::validate::validate_batch;
use super::{Failure, Publisher, partial, response};
use crate::broker::error::BrokerError;

/// What happened to one request of a pipelined run. A failed append is the
/// same error for every request with messages in it, hence the `Arc`.
pub type PipelinedAnswer = Result<PublishResponse, Arc<BrokerError>>;

impl Publisher {
    /// Stores requests without idempotency keys that arrived together, keeping
    /// their order. Each is validated alone (a bad one is refused alone); the
    /// valid ones are appended together in chunks no larger than one publish
    /// request may be, so storage sees nothing a single request could not send.
    /// A partition whose append fails fails the requests with messages there,
    /// and only those. Answers are in request order.
    pub async fn publish_pipelined(
        &self,
        topic: &str,
        requests: Vec<PublishRequest>,
    ) -> Vec<PipelinedAnswer> {
        let topic = match self.metadata.find_topic(topic).await {
            Ok(topic) => match self.admit() {
                Ok(()) => topic,
                Err(error) => return refuse_all(&requests, error),
            },
            Err(error) => return refuse_all(&requests, error),
        };
        let mut answers: Vec<Option<PipelinedAnswer>> = Vec::with_capacity(requests.len());
        let mut chunk = Chunk::default();
        for request in requests {
            let bytes = match validate_batch(&topic, &request) {
                Ok(bytes) => bytes,
                Err(error) => {
                    answers.push(Some(Err(Arc::new(error))));
                    continue;
                }
            };
            if !chunk.fits(request.messages.len(), bytes) {
                self.store_chunk(&topic, std::mem::take(&mut chunk), &mut answers)
                    .await;
            }
            chunk.add(answers.len(), request, bytes);
            answers.push(None);
        }
        self.store_chunk(&topic, chunk, &mut answers).await;
        answers
            .into_iter()
            .map(|answer| answer.expect("every request was answered"))
            .collect()
    }

    async fn store_chunk(
        &self,
        topic: &cluster::Topic,
        chunk: Chunk,
        answers: &mut [Option<PipelinedAnswer>],
    ) {
        if chunk.members.is_empty() {
            return;
        }
        let request = PublishRequest {
            messages: chunk.messages,
        };
        let mut appended = self.append_placed(topic, request, None).await;
        for error in appended.errors() {
            self.count_refusal(error);
        }
        // A request is stored when all its messages are: one partition's
        // failure fails only the requests with messages there, each with its
        // own partitions' error (or an unknown outcome if partly stored).
        let mut from = 0;
        let mut outcomes = Vec::with_capacity(chunk.members.len());
        for (index, count) in chunk.members {
            let range = from..from + count;
            outcomes.push((index, range.clone(), appended.failure_of(range)));
            from += count;
        }
        let first_error = appended
            .errors()
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        let errors = appended.shared_errors();
        for (index, range, failure) in outcomes {
            answers[index] = Some(match failure {
                None => {
                    let placed: Vec<(u32, u64)> =
                        appended.placed[range].iter().flatten().copied().collect();
                    Ok(response(&placed, appended.ack_level))
                }
                Some(Failure::Error(error)) => Err(errors[error].clone()),
                Some(Failure::Partial { stored, of }) => {
                    Err(Arc::new(partial(stored, of, &first_error)))
                }
            });
        }
    }
}

/// The same error for every request of a run.
fn refuse_all(requests: &[PublishRequest], error: BrokerError) -> Vec<PipelinedAnswer> {
    let error = Arc::new(error);
    requests.iter().map(|_| Err(error.clone())).collect()
}

/// Valid requests waiting to be appended together.
#[derive(Default)]
struct Chunk {
    /// (index in the run, message count) of each request in the chunk.
    members: Vec<(usize, usize)>,
    messages: Vec<api::types::PublishMessage>,
    bytes: usize,
}

impl Chunk {
    fn fits(&self, messages: usize, bytes: usize) -> bool {
        self.messages.len() + messages <= limits::MAX_BATCH_MESSAGES
            && self.bytes + bytes <= limits::MAX_BATCH_BYTES
    }

    fn add(&mut self, index: usize, request: PublishRequest, bytes: usize) {
        self.members.push((index, request.messages.len()));
        self.messages.extend(request.messages);
        self.bytes += bytes;
    }
}
