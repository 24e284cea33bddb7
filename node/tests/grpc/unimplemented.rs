//! The RPCs PubSubGo does not serve answer `UNIMPLEMENTED`, whatever service
//! they belong to, so a client learns at once instead of retrying.

use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::schema_service_client::SchemaServiceClient;
use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::{
    CreateSnapshotRequest, DeleteSnapshotRequest, DetachSubscriptionRequest, GetSnapshotRequest,
    ListSchemasRequest, ListSnapshotsRequest, ListTopicSnapshotsRequest, ModifyPushConfigRequest,
    UpdateSnapshotRequest, UpdateSubscriptionRequest, UpdateTopicRequest,
};
use tonic::Code;

use crate::google_server::GoogleServer;

#[test_log::test(tokio::test)]
async fn every_rpc_not_served_is_unimplemented() {
    let mut server = GoogleServer::start().await;
    let publisher = &mut server.publisher;
    let subscriber = &mut server.subscriber;
    let codes = [
        publisher
            .update_topic(UpdateTopicRequest::default())
            .await
            .map(|_| ()),
        publisher
            .list_topic_snapshots(ListTopicSnapshotsRequest::default())
            .await
            .map(|_| ()),
        publisher
            .detach_subscription(DetachSubscriptionRequest::default())
            .await
            .map(|_| ()),
        subscriber
            .update_subscription(UpdateSubscriptionRequest::default())
            .await
            .map(|_| ()),
        subscriber
            .modify_push_config(ModifyPushConfigRequest::default())
            .await
            .map(|_| ()),
        subscriber
            .get_snapshot(GetSnapshotRequest::default())
            .await
            .map(|_| ()),
        subscriber
            .list_snapshots(ListSnapshotsRequest::default())
            .await
            .map(|_| ()),
        subscriber
            .create_snapshot(CreateSnapshotRequest::default())
            .await
            .map(|_| ()),
        subscriber
            .update_snapshot(UpdateSnapshotRequest::default())
            .await
            .map(|_| ()),
        subscriber
            .delete_snapshot(DeleteSnapshotRequest::default())
            .await
            .map(|_| ()),
        SchemaServiceClient::new(server.channel.clone())
            .list_schemas(ListSchemasRequest::default())
            .await
            .map(|_| ()),
    ];
    for (i, result) in codes.into_iter().enumerate() {
        let error = result.expect_err("not served");
        assert_eq!(error.code(), Code::Unimplemented, "call {i}: {error:?}");
    }
}
