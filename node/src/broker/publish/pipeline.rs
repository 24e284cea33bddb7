//! Publishes that arrive together on one publish stream, stored with one append
//! per partition instead of one per request.

use std::sync::Arc;

use api::limits;
use api::types::{PublishRequest, PublishResponse};

use super::validate::validate_batch;
use super::{Publisher, response};
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
        let appended = self.append_placed(topic, request, None).await;
        if let Some(failure) = &appended.failure {
            self.count_refusal(failure);
        }
        let failure = appended.failure.map(Arc::new);
        let mut from = 0;
        for (index, count) in chunk.members {
            let to = from + count;
            // A request is stored when all its messages are: one partition's
            // failure fails only the requests with messages there.
            let placed: Option<Vec<(u32, u64)>> =
                appended.placed[from..to].iter().copied().collect();
            answers[index] = Some(match (placed, &failure) {
                (Some(placed), _) => Ok(response(&placed, appended.ack_level)),
                (None, Some(failure)) => Err(failure.clone()),
                (None, None) => unreachable!("a message is unplaced only after a failure"),
            });
            from = to;
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
