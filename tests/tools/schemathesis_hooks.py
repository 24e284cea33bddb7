"""What PubSubGo's API requires that JSON Schema cannot state, told to
schemathesis so it does not count the server's refusal as a failure. The
OpenAPI document states each of these in a description; keep the two in step.
Only the one refusal each rule explains is let through, and only for a
request that really breaks the rule.
"""

import json
import re

import schemathesis

DURATION = re.compile(r"^([0-9]+)(?:\.([0-9]{1,9}))?s$")
# The server's default backoffs (node's DEFAULT_MIN_BACKOFF_MILLIS and
# cluster::subscription::MAX_BACKOFF_MILLIS).
DEFAULT_MINIMUM_BACKOFF_MILLIS = 10_000
DEFAULT_MAXIMUM_BACKOFF_MILLIS = 600_000


def _millis(text, default):
    """Whole milliseconds of a duration as the server counts them."""
    if text is None:
        return default
    found = DURATION.match(text) if isinstance(text, str) else None
    if found is None:
        return None
    whole, fraction = found.groups()
    return int(whole) * 1000 + int((fraction or "").ljust(3, "0")[:3])


def _compares_fields_wrongly(body):
    """A subscription whose dead-letter topic is its own topic, or whose
    minimumBackoff exceeds its maximumBackoff: the server refuses both."""
    if not isinstance(body, dict):
        return False
    dead_letter = body.get("deadLetterPolicy")
    if isinstance(dead_letter, dict) and dead_letter.get("deadLetterTopic") == body.get("topic"):
        return True
    retry = body.get("retryPolicy")
    if isinstance(retry, dict):
        low = _millis(retry.get("minimumBackoff"), DEFAULT_MINIMUM_BACKOFF_MILLIS)
        high = _millis(retry.get("maximumBackoff"), DEFAULT_MAXIMUM_BACKOFF_MILLIS)
        return low is not None and high is not None and low > high
    return False


def _problem(response):
    try:
        problem = json.loads(response.content)
    except ValueError:
        return {}
    return problem if isinstance(problem, dict) else {}


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Drops a "schema-valid request rejected" failure when the rejection is
    one of the rules above; keeps every other failure."""
    if failure.code != "ST202":
        return True
    operation = (case.operation.method.upper(), case.operation.path)
    problem = _problem(response)
    if operation == ("PUT", "/v1/subscriptions/{subscription}"):
        return not (problem.get("code") == "INVALID_ARGUMENT" and _compares_fields_wrongly(case.body))
    detail = problem.get("detail", "")
    if operation == ("POST", "/v1/topics/{topic}:publish"):
        # maxMessageBytes is set per topic at creation: no schema of the
        # publish body can carry it.
        return not (problem.get("code") == "PAYLOAD_TOO_LARGE" and "(maxMessageBytes)" in detail)
    if operation[0] == "POST" and operation[1].endswith((":acknowledge", ":nack", ":modifyAckDeadline")):
        # An ack id of the documented shape may name a partition its topic
        # lacks; the partition count is set per topic.
        return not (
            problem.get("code") == "INVALID_ACK_ID"
            and "names a partition the topic does not have" in detail
        )
    return True
