"""`/wechat`: URL verification, signature and timestamp checks, decryption, then the pipeline.

Every refusal is a 4xx with a one-line reason and no traceback; anything
unexpected inside a handler is logged and answered with a friendly busy text
(no claim is kept, so WeChat's retry may run it again).
"""
from __future__ import annotations

import logging
import re
import secrets

from flask import Blueprint, Response, current_app, request

from bot.inbound import BadMessage, parse_xml, to_incoming
from bot.pipeline import Pipeline
from bot.signing import DecryptError, SafeMode, signature_ok

bp = Blueprint("wechat", __name__)
log = logging.getLogger(__name__)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class Refusal(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def _pipeline() -> Pipeline:
    return current_app.extensions["linli.pipeline"]


def _check_signature() -> tuple[str, str]:
    """(timestamp, nonce) of a correctly signed, fresh request; Refusal otherwise."""
    args = request.args
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not timestamp or not nonce or len(nonce) > 64:
        raise Refusal(403, "timestamp and nonce are required")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Refusal(400, "timestamp must be an integer")
    pipeline = _pipeline()
    if not signature_ok((pipeline.config.wechat.token, timestamp, nonce), args.get("signature")):
        raise Refusal(403, "invalid signature")
    window = pipeline.config.webhook.timestamp_window_seconds
    if abs(pipeline.clock.now().timestamp() - int(timestamp)) > window:
        raise Refusal(403, f"timestamp outside the {window}-second window")
    return timestamp, nonce


def _refuse(status: int, reason: str) -> Response:
    return Response(reason + "\n", status=status, mimetype="text/plain")


@bp.errorhandler(Refusal)
def _refused(exc: Refusal) -> Response:
    return _refuse(exc.status, exc.reason)


@bp.get("/wechat")
def verify_url() -> Response:
    """WeChat's server-URL check: echo `echostr` when the signature is right."""
    _check_signature()
    return Response(request.args.get("echostr", "")[:128], mimetype="text/plain")


@bp.post("/wechat")
def receive() -> Response:
    """Handle one message or event and answer within WeChat's 5 seconds."""
    timestamp, nonce = _check_signature()
    body = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH → 413
    safe: SafeMode | None = current_app.extensions["linli.safe_mode"]
    encrypted = request.args.get("encrypt_type", "raw").lower() == "aes"
    key = None
    try:
        if safe is not None:
            if not encrypted:
                raise Refusal(400, "this account runs in safe mode: encrypted messages only")
            body, key = _decrypt(safe, body, timestamp, nonce)
        elif encrypted:
            raise Refusal(400, "encrypted message but no EncodingAESKey is configured")
        msg = to_incoming(parse_xml(body))
    except (BadMessage, DecryptError) as exc:
        raise Refusal(400, str(exc)) from None
    xml = _pipeline().handle(msg)
    if not xml:
        return Response("success", mimetype="text/plain")
    if safe is not None:
        xml = safe.encrypt(xml, key, nonce or secrets.token_hex(8), timestamp)
    return Response(xml, mimetype="application/xml")


def _decrypt(safe: SafeMode, body: bytes, timestamp: str, nonce: str) -> tuple[str, str]:
    envelope = parse_xml(body)
    encrypted = envelope.get("Encrypt")
    if not encrypted:
        raise BadMessage("missing field Encrypt")
    if not signature_ok((safe.token, timestamp, nonce, encrypted), request.args.get("msg_signature")):
        raise Refusal(403, "invalid msg_signature")
    return safe.decrypt(encrypted)
