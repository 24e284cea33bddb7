//! [`Storage`]: a complete backend, both traits in one.

use super::{MessageLog, SubscriptionState};

/// A complete storage backend.
pub trait Storage: MessageLog + SubscriptionState {}

impl<T: MessageLog + SubscriptionState> Storage for T {}
