"""The ceiling: a bare asyncio client pushing SMS and email to the stand-ins, nothing else.

No database, no rendering, no bookkeeping: the same requests our sender makes,
with the same number in flight and the same SMTP connections per process. It is
what the provider stand-ins let through on this machine, the best any sender
could do. Run by ``bench.notify_at_scale`` (and ``bench.send_throughput``) in as
many processes as the worker has.

    python -m bench.ceiling --twilio URL --smtp-port N --sms 50000 --email 50000 --in-flight 64 --connections 4
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import time
from email import policy
from email.message import EmailMessage

from devtools.harness import TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN

SMS_BODY = "【快递服务】因“受台风影响,广州白云转运中心暂停作业”,您的包裹SF1234567890123可能延误,预计送达时间11月25日 18:00。详情:http://127.0.0.1:8000/incidents/1/ 回复TD退订"


def _email(text: str) -> bytes:
    message = EmailMessage()
    message["Subject"] = "您的包裹可能延误:受台风影响,广州白云转运中心暂停作业"
    message["From"] = "noreply@parcel-status.example"
    message["To"] = "placeholder@example.com"
    message.set_content(text, cte="base64")
    message.add_alternative(f"<html><body><p>{text}</p></body></html>", subtype="html", cte="base64")
    return message.as_bytes(policy=policy.SMTP)


class Smtp:
    """One persistent SMTP connection, as bare as the protocol allows."""

    async def open(self, port: int) -> Smtp:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        await self._reply()
        await self._command(b"EHLO ceiling")
        return self

    async def _reply(self) -> bytes:
        while True:
            line = await self.reader.readline()
            if line[3:4] != b"-":
                if not line.startswith((b"2", b"3")):
                    raise RuntimeError(line)
                return line

    async def _command(self, line: bytes) -> bytes:
        self.writer.write(line + b"\r\n")
        return await self._reply()

    async def send(self, recipient: str, content: bytes) -> None:
        await self._command(b"MAIL FROM:<noreply@parcel-status.example>")
        await self._command(f"RCPT TO:<{recipient}>".encode())
        await self._command(b"DATA")
        self.writer.write(content.replace(b"placeholder@example.com", recipient.encode()) + b"\r\n.\r\n")
        await self._reply()


async def push(arguments: argparse.Namespace) -> None:
    import aiohttp

    sms_jobs = list(range(arguments.first, arguments.first + arguments.sms))
    email_jobs = list(range(arguments.first, arguments.first + arguments.email))
    content = _email(SMS_BODY * 4)
    connections = [await Smtp().open(arguments.smtp_port) for _ in range(arguments.connections)]
    authorization = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    url = f"{arguments.twilio}/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    connector = aiohttp.TCPConnector(limit=arguments.in_flight)
    # The in-flight limit covers both channels; an email holds a slot only while one of
    # the connections is sending it, never while it waits for one.
    slots = asyncio.Semaphore(arguments.in_flight)
    async with aiohttp.ClientSession(connector=connector, headers={"Authorization": authorization}) as session:

        async def sms_sender() -> None:
            while sms_jobs:
                index = sms_jobs.pop()
                async with slots:
                    form = {
                        "To": f"+86138{index:08d}",
                        "From": TWILIO_FROM,
                        "Body": SMS_BODY,
                        "StatusCallback": "http://127.0.0.1:8000/webhooks/twilio/status",
                    }
                    async with session.post(url, data=form) as response:
                        await response.read()
                        assert response.status == 201, response.status

        async def email_sender(connection: Smtp) -> None:
            while email_jobs:
                index = email_jobs.pop()
                async with slots:
                    await connection.send(f"c{index}@example.com", content)

        await asyncio.gather(
            *(sms_sender() for _ in range(arguments.in_flight)),
            *(email_sender(connection) for connection in connections),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--twilio", required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--sms", type=int, default=0)
    parser.add_argument("--email", type=int, default=0)
    parser.add_argument("--first", type=int, default=0, help="first recipient index (processes split the range)")
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--connections", type=int, default=4)
    arguments = parser.parse_args()
    started = time.monotonic()
    asyncio.run(push(arguments))
    print(f"{time.monotonic() - started:.2f}", flush=True)


if __name__ == "__main__":
    main()
