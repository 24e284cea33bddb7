"""Publish and streaming-pull throughput through Google's official Python
client (google-cloud-pubsub), against whatever PUBSUB_EMULATOR_HOST names.

    PUBSUB_EMULATOR_HOST=127.0.0.1:8085 python google-client.py [--messages N] [--size B]

Run with the python that tests/tools/ensure-google-client prints (it has the
pinned client). Publishes N messages of B bytes with the client's default
batching (100 messages / 1 MB / 10 ms), waits for every publish future, then
receives them with subscribe() (flow control 1,000 messages, the default),
acking each in the callback. Prints one JSON line: messages per second for
each phase, lost and duplicate counts, and the load average before and after.
"""

import argparse
import json
import os
import threading
import time
import uuid

from google.cloud import pubsub_v1
from google.cloud.pubsub_v1.types import FlowControl

PROJECT = "bench"


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()

    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    name = "bench-" + uuid.uuid4().hex[:8]
    topic = publisher.topic_path(PROJECT, name)
    sub = subscriber.subscription_path(PROJECT, name + "-sub")
    publisher.create_topic(name=topic)
    subscriber.create_subscription(request={"name": sub, "topic": topic, "ack_deadline_seconds": 60})
    load_before = load()
    payload = os.urandom(args.size)

    started = time.monotonic()
    futures = [publisher.publish(topic, payload, seq=str(i)) for i in range(args.messages)]
    for future in futures:
        future.result(timeout=args.timeout)
    publish_seconds = time.monotonic() - started

    seen, lock, done = set(), threading.Lock(), threading.Event()
    duplicates = 0

    def callback(message):
        nonlocal duplicates
        with lock:
            seq = message.attributes["seq"]
            if seq in seen:
                duplicates += 1
            seen.add(seq)
            if len(seen) >= args.messages:
                done.set()
        message.ack()

    started = time.monotonic()
    streaming = subscriber.subscribe(sub, callback, flow_control=FlowControl(max_messages=1000))
    done.wait(args.timeout)
    receive_seconds = time.monotonic() - started
    streaming.cancel()
    try:
        streaming.result(timeout=30)
    except Exception:  # cancelled futures raise; the counts are what matters
        pass
    subscriber.delete_subscription(subscription=sub)
    publisher.delete_topic(topic=topic)
    publisher.stop()
    print(
        json.dumps(
            {
                "messages": args.messages,
                "size": args.size,
                "publish_msgs_per_s": round(args.messages / publish_seconds),
                "streaming_pull_msgs_per_s": round(len(seen) / receive_seconds),
                "received": len(seen),
                "lost": args.messages - len(seen),
                "duplicates": duplicates,
                "load_before": load_before,
                "load_after": load(),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
