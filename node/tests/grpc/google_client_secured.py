"""Google's official Python client against a PubSubGo with TLS and
authentication on, connected as docs/google-clients.md shows: a secure
channel trusting the broker's CA, with an API key as the access token.

Run by node/tests/grpc/python_secured.rs with PUBSUBGO_GRPC (host:port),
PUBSUBGO_CA_FILE, PUBSUBGO_TOKEN (may do anything) and
PUBSUBGO_OTHER_TOKEN (may only publish to `orders-*`). Any failed check
raises, and the exit status is not 0.
"""

import os
import sys

import grpc
from google.api_core import exceptions
from google.cloud import pubsub_v1
from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

PROJECT = "pubsubgo-test"
ADDRESS = os.environ["PUBSUBGO_GRPC"]
CA = open(os.environ["PUBSUBGO_CA_FILE"], "rb").read()


def channel(token):
    credentials = grpc.ssl_channel_credentials(root_certificates=CA)
    if token is not None:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(token)
        )
    return grpc.secure_channel(ADDRESS, credentials)


def clients(token):
    publisher = pubsub_v1.PublisherClient(
        transport=PublisherGrpcTransport(channel=channel(token))
    )
    subscriber = pubsub_v1.SubscriberClient(
        transport=SubscriberGrpcTransport(channel=channel(token))
    )
    return publisher, subscriber


def phase(text):
    print(f"--- {text}", flush=True)


def refused(call, error):
    try:
        call()
    except error:
        return
    raise AssertionError(f"expected {error.__name__}")


def main():
    phase("over TLS with a token: admin, publish, pull, ack")
    publisher, subscriber = clients(os.environ["PUBSUBGO_TOKEN"])
    topic = publisher.topic_path(PROJECT, "orders-secured")
    sub = subscriber.subscription_path(PROJECT, "orders-secured-sub")
    publisher.create_topic(name=topic)
    subscriber.create_subscription(request={"name": sub, "topic": topic})
    publisher.publish(topic, b"secured").result(timeout=30)
    answer = subscriber.pull(request={"subscription": sub, "max_messages": 10}, timeout=30)
    assert [m.message.data for m in answer.received_messages] == [b"secured"], answer
    subscriber.acknowledge(
        request={"subscription": sub, "ack_ids": [m.ack_id for m in answer.received_messages]}
    )

    phase("no token: Unauthenticated; outside the policy: PermissionDenied")
    anonymous, _ = clients(None)
    refused(lambda: anonymous.get_topic(topic=topic, timeout=10), exceptions.Unauthenticated)
    other_publisher, other_subscriber = clients(os.environ["PUBSUBGO_OTHER_TOKEN"])
    other_publisher.publish(topic, b"allowed").result(timeout=30)
    refused(
        lambda: other_subscriber.pull(
            request={"subscription": sub, "max_messages": 1}, timeout=10
        ),
        exceptions.PermissionDenied,
    )
    refused(
        lambda: other_publisher.delete_topic(topic=topic, timeout=10),
        exceptions.PermissionDenied,
    )
    for client in (publisher, anonymous, other_publisher):
        client.stop()
    phase("all checks passed")


if __name__ == "__main__":
    main()
    sys.exit(0)
