"""A local SMTP sink for the embedded stack: every email lands as an .eml file under var/mail/."""

from __future__ import annotations

import asyncio
import logging
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from workers.private_files import private_folder, write_private


class MailFolder:
    """aiosmtpd handler that writes each message to a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = private_folder(folder)

    async def handle_DATA(self, _server: Any, _session: Session, envelope: Envelope) -> str:
        """Store one message; its key header names the file so resends overwrite, not add."""
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = message_from_bytes(content, policy=default_policy)
        name = str(message.get("X-Idempotency-Key") or abs(hash(content)))
        write_private(self.folder / f"{name}.eml", content)  # a resident's details
        return "250 Message accepted for delivery"


async def start_mail_sink(host: str, port: int, folder: Path) -> asyncio.Server:
    """Serve SMTP on ``host:port`` into ``folder``."""
    handler = MailFolder(folder)
    # aiosmtpd logs every conversation (recipients included) at INFO: keep addresses out of
    # the logs; its warnings and errors still show.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: SMTP(handler, hostname="partnerflow"), host, port)
