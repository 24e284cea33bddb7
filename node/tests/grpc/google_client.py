"""Google's official Python client for Pub/Sub, unchanged, against PubSubGo.

Run by node/tests/grpc/python_client.rs with PUBSUB_EMULATOR_HOST set to a
real pubsubgo-server's gRPC address (one node, or one node of a cluster).
Each check prints its phase; any failed check raises, and the exit status is
not 0. PUBSUBGO_NAME_SUFFIX, if set, ends every topic and subscription id (so
a cluster test can pick names whose partitions other nodes own).
"""

import datetime
import os
import sys
import threading
import time

from google.api_core import exceptions
from google.cloud import pubsub_v1
from google.cloud.pubsub_v1.subscriber.exceptions import AcknowledgeStatus
from google.cloud.pubsub_v1.types import BatchSettings, FlowControl, PublisherOptions

PROJECT = "pubsubgo-test"
SUFFIX = os.environ.get("PUBSUBGO_NAME_SUFFIX", "")
WAIT = 30  # seconds any one wait may take before the check fails

publisher = pubsub_v1.PublisherClient(
    batch_settings=BatchSettings(max_messages=100, max_latency=0.01),
    publisher_options=PublisherOptions(enable_message_ordering=True),
)
subscriber = pubsub_v1.SubscriberClient()


def phase(text):
    print(f"--- {text}", flush=True)


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def topic_and_subscription(name, **subscription):
    name += SUFFIX
    topic = publisher.topic_path(PROJECT, name)
    publisher.create_topic(name=topic)
    sub = subscriber.subscription_path(PROJECT, name + "-sub")
    subscriber.create_subscription(request={"name": sub, "topic": topic, **subscription})
    return topic, sub


def pull_at_least(sub, count):
    """Unary pulls until `count` messages came (a pull may return fewer)."""
    received = []
    deadline = time.monotonic() + WAIT
    while len(received) < count and time.monotonic() < deadline:
        answer = subscriber.pull(request={"subscription": sub, "max_messages": 100}, timeout=5)
        received.extend(answer.received_messages)
    check(len(received) >= count, f"pulled {len(received)} of {count} messages")
    return received


def nothing_left(sub):
    answer = subscriber.pull(
        request={"subscription": sub, "max_messages": 10, "return_immediately": True}
    )
    return len(answer.received_messages) == 0


def admin():
    phase("admin: create, get, list, AlreadyExists, NotFound, refused fields")
    topic, sub = topic_and_subscription("admin", ack_deadline_seconds=30)
    try:
        publisher.create_topic(name=topic)
        raise AssertionError("a second create_topic succeeded")
    except exceptions.AlreadyExists:
        pass
    got = subscriber.get_subscription(subscription=sub)
    check(got.topic == topic and got.ack_deadline_seconds == 30, f"get_subscription: {got}")
    check(publisher.get_topic(topic=topic).name == topic, "get_topic")
    names = [t.name for t in publisher.list_topics(project=f"projects/{PROJECT}")]
    check(topic in names, f"list_topics: {names}")
    check(sub in list(publisher.list_topic_subscriptions(topic=topic)), "list_topic_subscriptions")
    try:
        publisher.get_topic(topic=publisher.topic_path(PROJECT, "missing"))
        raise AssertionError("get_topic of a missing topic succeeded")
    except exceptions.NotFound:
        pass
    try:
        subscriber.create_subscription(
            request={"name": sub + "-filtered", "topic": topic, "filter": 'attributes.a = "b"'}
        )
        raise AssertionError("a filter was accepted")
    except exceptions.InvalidArgument:
        pass
    subscriber.delete_subscription(subscription=sub)
    publisher.delete_topic(topic=topic)


def publish_and_stream():
    phase("publish with attributes and ordering keys; streaming pull with flow control")
    topic, sub = topic_and_subscription("stream", enable_message_ordering=True)
    keys, per_key = ["k0", "k1", "k2"], 334
    futures = [
        publisher.publish(topic, f"{key}-{i}".encode(), ordering_key=key, seq=str(i), key=key)
        for i in range(per_key)
        for key in keys
    ]
    ids = [f.result(timeout=WAIT) for f in futures]
    check(len(set(ids)) == len(ids), "message ids are unique")
    total = len(ids)
    received, lock, done = [], threading.Lock(), threading.Event()

    def callback(message):
        with lock:
            received.append(message)
            if len(received) >= total:
                done.set()
        message.ack()

    future = subscriber.subscribe(sub, callback, flow_control=FlowControl(max_messages=50))
    done.wait(WAIT)
    future.cancel()
    future.result(timeout=WAIT)
    check(len(received) == total, f"received {len(received)} of {total}")
    check(len({m.message_id for m in received}) == total, "a message was delivered twice")
    for key in keys:
        seqs = [int(m.attributes["seq"]) for m in received if m.ordering_key == key]
        check(seqs == list(range(per_key)), f"key {key} out of order: {seqs[:10]}...")
    check(all(m.data == f"{m.ordering_key}-{m.attributes['seq']}".encode() for m in received), "data")
    check(all(m.publish_time is not None for m in received), "publish_time")
    check(nothing_left(sub), "acked messages were delivered again")


def unary_pull_nack_and_seek():
    phase("unary pull, modify_ack_deadline 0 as a nack, then seek to a time")
    topic, sub = topic_and_subscription("unary")
    for i in range(3):
        publisher.publish(topic, f"m{i}".encode(), n=str(i)).result(timeout=WAIT)
    first = pull_at_least(sub, 3)
    nacked = first[0]
    subscriber.modify_ack_deadline(
        request={"subscription": sub, "ack_ids": [nacked.ack_id], "ack_deadline_seconds": 0}
    )
    subscriber.modify_ack_deadline(
        request={"subscription": sub, "ack_ids": [m.ack_id for m in first[1:]], "ack_deadline_seconds": 60}
    )
    again = pull_at_least(sub, 1)
    check(
        [m.message.message_id for m in again] == [nacked.message.message_id],
        "the nacked message, and only it, comes again",
    )
    subscriber.acknowledge(
        request={"subscription": sub, "ack_ids": [m.ack_id for m in first[1:] + again]}
    )
    check(nothing_left(sub), "all three were acked")
    published = min(m.message.publish_time for m in first)
    subscriber.seek(request={"subscription": sub, "time": published - datetime.timedelta(milliseconds=1)})
    replayed = pull_at_least(sub, 3)
    check(
        sorted(m.message.data for m in replayed) == [b"m0", b"m1", b"m2"],
        "seek to the first publish time replays every message",
    )


def dead_letters():
    phase("a callback that always nacks: delivery_attempt 1 to 5, then the dead-letter topic")
    dead_topic, dead_sub = topic_and_subscription("dead")
    topic, sub = topic_and_subscription(
        "doomed", dead_letter_policy={"dead_letter_topic": dead_topic, "max_delivery_attempts": 5}
    )
    publisher.publish(topic, b"doomed").result(timeout=WAIT)
    attempts = []

    def callback(message):
        attempts.append(message.delivery_attempt)
        message.nack()

    future = subscriber.subscribe(sub, callback)
    dead = pull_at_least(dead_sub, 1)
    future.cancel()
    future.result(timeout=WAIT)
    check(dead[0].message.data == b"doomed", "the dead letter's data")
    source = dead[0].message.attributes
    check(source.get("CloudPubSubDeadLetterSourceDeliveryCount") == "5", f"Google's attributes: {source}")
    check(source.get("CloudPubSubDeadLetterSourceSubscription") == sub.rsplit("/", 1)[1], f"{source}")
    check("CloudPubSubDeadLetterSourceTopicPublishTime" in source, f"{source}")
    check(attempts == [1, 2, 3, 4, 5], f"delivery attempts {attempts}")


def exactly_once():
    phase("exactly-once: ack_with_response succeeds; a stale ack id fails")
    topic, sub = topic_and_subscription("exact", enable_exactly_once_delivery=True)
    publisher.publish(topic, b"once").result(timeout=WAIT)
    results, done = [], threading.Event()

    def callback(message):
        results.append(message.ack_with_response().result(timeout=WAIT))
        done.set()

    future = subscriber.subscribe(sub, callback)
    done.wait(WAIT)
    future.cancel()
    future.result(timeout=WAIT)
    check(results == [AcknowledgeStatus.SUCCESS], f"ack_with_response: {results}")

    publisher.publish(topic, b"twice").result(timeout=WAIT)
    stale = pull_at_least(sub, 1)[0]
    subscriber.modify_ack_deadline(
        request={"subscription": sub, "ack_ids": [stale.ack_id], "ack_deadline_seconds": 0}
    )
    fresh = pull_at_least(sub, 1)[0]
    check(fresh.ack_id != stale.ack_id, "a redelivery has a new ack id")
    try:
        subscriber.acknowledge(request={"subscription": sub, "ack_ids": [stale.ack_id]})
        raise AssertionError("a stale ack id was accepted under exactly-once")
    except exceptions.InvalidArgument as error:
        # google-api-core reads the reason from the status's ErrorInfo detail.
        check(error.reason == "EXACTLY_ONCE_ACKID_FAILURE", f"reason {error.reason}")
    subscriber.acknowledge(request={"subscription": sub, "ack_ids": [fresh.ack_id]})


def main():
    admin()
    publish_and_stream()
    unary_pull_nack_and_seek()
    dead_letters()
    exactly_once()
    phase("all checks passed")


if __name__ == "__main__":
    try:
        main()
    finally:
        publisher.stop()
    sys.exit(0)
