"""Delivers events to the real Lambda handlers, as Lambda would.

S3 sends each notification to the local events queue; the relay receives it, invokes
`textbatch_trigger.handler.lambda_handler` with the unchanged event, a Lambda-like context and
the function's configured environment, and writes the handler's output to the function's log
group. A failing invocation is retried twice on Lambda's asynchronous schedule (1 minute, then
2 minutes later) and then sent to the dead-letter queue, as the function's on-failure
destination would.

Batch's FAILED job state changes (which EventBridge's rule sends to the failure reporter) come
from the local job executor; `FailedJobRelay` hands them to
`textbatch_reporter.handler.lambda_handler` the same way.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import queue
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

MAX_RECEIVES = 3  # the first invocation and Lambda's two asynchronous retries
# Lambda's schedule for those retries: "one minute between the first two attempts, and two
# minutes between the second and third" (Lambda Developer Guide, asynchronous invocation). The
# trigger's claim lease (75 s) is sized on it: a retry comes after a dead invocation's lease.
RETRY_DELAYS_S = (60, 120)


@dataclass(frozen=True)
class LambdaContext:
    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class LambdaFunction:
    """One function's invocations: a Lambda-like context, stdout to its log group (with
    START, END and REPORT lines), the exception returned rather than raised."""

    def __init__(self, *, logs: Any, function_name: str, log_group: str) -> None:
        self.logs = logs
        self.function_name = function_name
        self.log_group = log_group
        self.stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        with contextlib.suppress(self.logs.exceptions.ResourceAlreadyExistsException):
            self.logs.create_log_group(logGroupName=log_group)
        self.logs.create_log_stream(logGroupName=log_group, logStreamName=self.stream)

    def invoke(self, handler: Any, event: dict[str, Any]) -> Exception | None:
        context = LambdaContext(self.function_name, str(uuid.uuid4()))
        output = io.StringIO()
        failed = None
        started = time.monotonic()
        with contextlib.redirect_stdout(output):
            try:
                handler(event, context)
            except Exception as exc:
                failed = exc
                print(traceback.format_exc().rstrip())
        lines = [f"START RequestId: {context.aws_request_id} Version: $LATEST"]
        lines += output.getvalue().splitlines()
        lines.append(f"END RequestId: {context.aws_request_id}")
        lines.append(
            f"REPORT RequestId: {context.aws_request_id}\t"
            f"Duration: {1000 * (time.monotonic() - started):.2f} ms"
        )
        now = int(time.time() * 1000)
        self.logs.put_log_events(
            logGroupName=self.log_group,
            logStreamName=self.stream,
            logEvents=[{"timestamp": now, "message": line} for line in lines],
        )
        return failed


class EventRelay:
    def __init__(
        self,
        *,
        sqs: Any,
        logs: Any,
        queue_url: str,
        dead_letter_url: str,
        function_name: str,
        environment: dict[str, str],
        log_group: str,
        retry_delays: tuple[int, ...] = RETRY_DELAYS_S,
    ) -> None:
        self.retry_delays = retry_delays
        self.sqs = sqs
        self.logs = logs
        self.queue_url = queue_url
        self.dead_letter_url = dead_letter_url
        self.function_name = function_name
        self.environment = environment
        self.log_group = log_group
        self.stopping = threading.Event()

    def serve(self) -> None:
        os.environ.update(self.environment)  # the function's configuration, as Lambda sets it
        from textbatch_trigger.handler import lambda_handler

        function = LambdaFunction(
            logs=self.logs, function_name=self.function_name, log_group=self.log_group
        )
        while not self.stopping.is_set():
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                AttributeNames=["ApproximateReceiveCount"],
                VisibilityTimeout=30,  # until settled: an invocation may last its timeout
            ).get("Messages", [])
            for message in messages:
                failed = function.invoke(lambda_handler, json.loads(message["Body"]))
                self._settle(message, failed)

    def _settle(self, message: dict[str, Any], failed: Exception | None) -> None:
        receives = int(message["Attributes"].get("ApproximateReceiveCount", "1"))
        if failed is None:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        elif receives >= MAX_RECEIVES:
            self.sqs.send_message(QueueUrl=self.dead_letter_url, MessageBody=message["Body"])
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        else:  # left on the queue, visible again when Lambda would retry it
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=self.retry_delays[receives - 1],
            )


class FailedJobRelay:
    """EventBridge's rule for FAILED jobs -> the failure reporter: `publish` is given each job
    the executor stops as FAILED; invocations failing three times go to the dead letters."""

    def __init__(
        self,
        *,
        sqs: Any,
        logs: Any,
        dead_letter_url: str,
        function_name: str,
        log_group: str,
        retry_delays: tuple[int, ...] = RETRY_DELAYS_S,
    ) -> None:
        self.retry_delays = retry_delays
        self.sqs = sqs
        self.dead_letter_url = dead_letter_url
        self.function = LambdaFunction(logs=logs, function_name=function_name, log_group=log_group)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stopping = threading.Event()

    def publish(self, job: dict[str, Any], region: str) -> None:
        self.events.put(
            {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Batch Job State Change",
                "source": "aws.batch",
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "region": region,
                "resources": [job.get("jobArn", "")],
                "detail": job,
            }
        )

    def serve(self) -> None:
        from textbatch_reporter.handler import lambda_handler

        while not self.stopping.is_set():
            try:
                event = self.events.get(timeout=1)
            except queue.Empty:
                continue
            attempt = event.pop("_attempt", 0)
            failed = self.function.invoke(lambda_handler, event)
            if failed is None:
                continue
            if attempt + 1 >= MAX_RECEIVES:
                self.sqs.send_message(QueueUrl=self.dead_letter_url, MessageBody=json.dumps(event))
                continue
            # retried when Lambda would retry it, without holding up the other events
            retry = threading.Timer(
                self.retry_delays[attempt], self.events.put, [{**event, "_attempt": attempt + 1}]
            )
            retry.daemon = True
            retry.start()
