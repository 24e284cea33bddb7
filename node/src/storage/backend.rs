//! The combined traits: [`Storage`], what the broker uses, and
//! [`FencedStorage`], a backend that routed storage runs calls on.

use super::{FencedLog, MessageLog, SubscriptionState};

/// A complete storage, as the broker uses it.
pub trait Storage: MessageLog + SubscriptionState {}

impl<T: MessageLog + SubscriptionState> Storage for T {}

/// A complete backend whose appends can be fenced by owner epoch: memory or
/// Redis, under routed storage or on its own.
pub trait FencedStorage: Storage + FencedLog {}

impl<T: Storage + FencedLog> FencedStorage for T {}
