//! [`DeliveryScope`]: which partitions one delivery may lease from, and
//! under which generation.

use api::types::ReceivedMessage;
use cluster::{MetadataError, SubscriptionType};

use crate::broker::delivery::target::DeliveryTarget;
use crate::broker::error::BrokerError;
use crate::metadata_store::MetadataStore;

/// The partitions one delivery may lease from, and the generation it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryScope {
    /// Ascending.
    pub partitions: Vec<u32>,
    /// `Some` on partitioned subscriptions; stamped on every delivered message.
    pub generation: Option<u64>,
}

impl DeliveryScope {
    /// Marks messages leased under this scope with its generation.
    pub fn stamp(&self, messages: &mut [ReceivedMessage]) {
        for message in messages {
            message.generation = self.generation;
        }
    }
}

/// Which partitions a lease of up to `max` messages for `target` may use
/// now. A shared subscription serves every partition; a partitioned one only
/// the current partitions of the target's member, which must still be in
/// the group. A lease of 0 messages delivers nothing, so it needs no member
/// and covers every partition (upkeep such as processing expired leases).
pub fn delivery_scope(
    metadata: &MetadataStore,
    target: &DeliveryTarget,
    max: usize,
) -> Result<DeliveryScope, BrokerError> {
    let sub = &target.subscription;
    let every_partition = DeliveryScope {
        partitions: (0..target.topic.config.partitions).collect(),
        generation: None,
    };
    match (sub.config.kind, &target.member) {
        (SubscriptionType::Shared, _) => Ok(every_partition),
        (SubscriptionType::Partitioned, None) if max == 0 => Ok(every_partition),
        (SubscriptionType::Partitioned, None) => Err(BrokerError::precondition(format!(
            "{} is a partitioned subscription: join its group (:join) and pass the memberId",
            sub.name
        ))),
        (SubscriptionType::Partitioned, Some(member)) => {
            let assignment = metadata.read(|md| match md.group(&sub.name) {
                Some(group) => group.assignment_of(&sub.name, member),
                None => Err(MetadataError::UnknownMember {
                    subscription: sub.name.to_string(),
                    member_id: member.to_string(),
                }),
            })?;
            #[cfg(feature = "test-breaks")]
            let assignment = crate::test_breaks::double_assign(assignment);
            Ok(DeliveryScope {
                partitions: assignment.partitions,
                generation: Some(assignment.generation),
            })
        }
    }
}
