//! Paged lists of topics and subscriptions.
//!
//! The page token is the last name of the previous page: names are unique and
//! ordered, so paging is stable while resources come and go. Lists are
//! linearizable: they see every create acknowledged before they began, on
//! any node.

use api::types::{ListSubscriptionsResponse, ListTopicsResponse};
use cluster::{MetadataError, Subscription, SubscriptionName, Topic, TopicName};

use super::Catalog;
use crate::broker::convert;
use crate::broker::error::BrokerError;

impl Catalog {
    pub async fn list_topics(
        &self,
        page_size: Option<u32>,
        page_token: Option<&str>,
    ) -> Result<ListTopicsResponse, BrokerError> {
        let (limit, after) = page(page_size, page_token, TopicName::new)?;
        self.metadata.store().barrier().await?;
        let topics: Vec<Topic> = self.metadata.store().read(|md| {
            md.topics_after(after.as_ref(), limit)
                .into_iter()
                .cloned()
                .collect()
        });
        let default_level = self.storage.ack_level();
        Ok(ListTopicsResponse {
            next_page_token: next_token(&topics, limit, |t| t.name.to_string()),
            topics: topics
                .iter()
                .map(|t| convert::topic(t, default_level, None))
                .collect(),
        })
    }

    pub async fn list_subscriptions(
        &self,
        page_size: Option<u32>,
        page_token: Option<&str>,
    ) -> Result<ListSubscriptionsResponse, BrokerError> {
        let (limit, after) = page(page_size, page_token, SubscriptionName::new)?;
        self.metadata.store().barrier().await?;
        let subs: Vec<Subscription> = self.metadata.store().read(|md| {
            md.subscriptions_after(after.as_ref(), limit)
                .into_iter()
                .cloned()
                .collect()
        });
        Ok(ListSubscriptionsResponse {
            next_page_token: next_token(&subs, limit, |s| s.name.to_string()),
            subscriptions: subs
                .iter()
                .map(|s| convert::subscription(s, None))
                .collect(),
        })
    }
}

/// Page size and the name to continue after.
fn page<N>(
    page_size: Option<u32>,
    page_token: Option<&str>,
    parse: impl Fn(String) -> Result<N, MetadataError>,
) -> Result<(usize, Option<N>), BrokerError> {
    let size = page_size.unwrap_or(api::limits::DEFAULT_PAGE_SIZE);
    if !(1..=api::limits::MAX_PAGE_SIZE).contains(&size) {
        return Err(BrokerError::invalid(format!(
            "pageSize must be between 1 and {}, got {size}",
            api::limits::MAX_PAGE_SIZE
        )));
    }
    let after = match page_token.filter(|t| !t.is_empty()) {
        Some(token) => Some(
            parse(token.to_owned())
                .map_err(|_| BrokerError::invalid(format!("invalid pageToken {token:?}")))?,
        ),
        None => None,
    };
    Ok((size as usize, after))
}

/// The token of the next page: the last name, when the page is full.
fn next_token<T>(page: &[T], limit: usize, name: impl Fn(&T) -> String) -> Option<String> {
    (page.len() == limit)
        .then(|| page.last().map(name))
        .flatten()
}
