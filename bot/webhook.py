"""`/wechat`: URL verification, signature check, decryption, then the pipeline.

Every refusal is a 4xx with a one-line reason and no traceback; anything
unexpected inside a handler is logged and answered with a friendly busy text
(no claim is kept, so WeChat's retry may run it again).
"""
from __future__ import annotations

import logging
import secrets
import time

from flask import Blueprint, Response, current_app, request

from bot.inbound import BadMessage, Incoming, parse_xml, to_incoming
from bot.pipeline import Pipeline, render
from bot.context import Reply
from bot.signing import DecryptError, SafeMode, signature_ok
from bot.texts import text

bp = Blueprint("wechat", __name__)
log = logging.getLogger(__name__)


def _refuse(status: int, reason: str) -> Response:
    return Response(reason + "\n", status=status, mimetype="text/plain")


def _signed_request() -> bool:
    args = request.args
    token = current_app.config["LINLI"].get_path("wechat.token")
    return signature_ok((token, args.get("timestamp", ""), args.get("nonce", "")),
                        args.get("signature"))


@bp.get("/wechat")
def verify_url() -> Response:
    """WeChat's server-URL check: echo `echostr` when the signature is right."""
    if not _signed_request():
        return _refuse(403, "invalid signature")
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.post("/wechat")
def receive() -> Response:
    """Handle one message or event and answer within WeChat's 5 seconds."""
    if not _signed_request():
        return _refuse(403, "invalid signature")
    body = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH → 413
    safe: SafeMode | None = current_app.extensions["linli.safe_mode"]
    encrypted = request.args.get("encrypt_type", "raw").lower() == "aes"
    key = None
    try:
        if safe is not None:
            if not encrypted:
                return _refuse(400, "this account runs in safe mode: encrypted messages only")
            body, key = _decrypt(safe, body)
        elif encrypted:
            return _refuse(400, "encrypted message but no EncodingAESKey is configured")
        msg = to_incoming(parse_xml(body))
    except BadMessage as exc:
        return _refuse(400, str(exc))
    except DecryptError as exc:
        return _refuse(400, str(exc))
    except PermissionError:
        return _refuse(403, "invalid msg_signature")
    xml = _run(msg)
    if not xml:
        return Response("success", mimetype="text/plain")
    if safe is not None:
        xml = safe.encrypt(xml, key, request.args.get("nonce") or secrets.token_hex(8),
                           str(int(time.time())))
    return Response(xml, mimetype="application/xml")


def _decrypt(safe: SafeMode, body: bytes) -> tuple[str, str]:
    envelope = parse_xml(body)
    encrypted = envelope.get("Encrypt")
    if not encrypted:
        raise BadMessage("missing field Encrypt")
    args = request.args
    if not signature_ok((safe.token, args.get("timestamp", ""), args.get("nonce", ""), encrypted),
                        args.get("msg_signature")):
        raise PermissionError
    return safe.decrypt(encrypted)


def _run(msg: Incoming) -> str:
    pipeline: Pipeline = current_app.extensions["linli.pipeline"]
    try:
        return pipeline.handle(msg)
    except Exception:
        log.exception("handler failed for %s message from %s…", msg.kind, msg.openid[:8])
        return render(Reply(text("busy")), msg)
