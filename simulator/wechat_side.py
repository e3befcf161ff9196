"""Client side: deliver a follower's messages and events to the webhook as WeChat does.

Signed with the account token; in safe mode encrypted with the EncodingAESKey
(compatible mode also carries the plaintext fields); retried up to 3 attempts
in all when no answer comes within the reply timeout. A reply that cannot be
read shows the follower "该公众号暂时无法提供服务", as on a real phone.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import secrets
import threading
import time
from dataclasses import dataclass

import requests
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import PrpCrypto, WeChatCrypto

log = logging.getLogger(__name__)
UNAVAILABLE = "该公众号暂时无法提供服务，请稍后再试"
ATTEMPTS = 3


def sign(*parts: str) -> str:
    """WeChat's signature, written independently of the bot's so each checks the other."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def build_xml(fields: dict[str, object]) -> str:
    return "<xml>" + _elements(fields) + "</xml>"


def _elements(fields: dict[str, object]) -> str:
    parts = []
    for key, value in fields.items():
        if isinstance(value, list):  # <SubscribeMsgPopupEvent><List>…</List>…
            body = "".join(f"<List>{_elements(item)}</List>" for item in value)
        else:
            body = str(value) if isinstance(value, (int, float)) else cdata(str(value))
        parts.append(f"<{key}>{body}</{key}>")
    return "".join(parts)


@dataclass
class Outcome:
    """What the follower saw: a reply text, nothing, or the 'unavailable' notice."""

    reply: str | None
    attempts: int
    status: str  # replied | empty | unavailable
    detail: str = ""

    def as_dict(self) -> dict:
        return {"reply": self.reply, "attempts": self.attempts, "status": self.status,
                "detail": self.detail}


class Deliverer:
    """Posts to the webhook with WeChat's signing, encryption, timeout and retries."""

    def __init__(self, webhook_url: str, token: str, appid: str, aes_key: str | None,
                 mode: str, reply_timeout: float, account: str = "gh_linli_sim"):
        self.webhook_url, self.token, self.appid = webhook_url, token, appid
        self.aes_key, self.mode, self.reply_timeout = aes_key, mode, reply_timeout
        self.account = account
        self.http = requests.Session()

    def deliver(self, fields: dict[str, object]) -> Outcome:
        xml = build_xml({"ToUserName": self.account, **fields})
        detail = ""
        for attempt in range(1, ATTEMPTS + 1):
            timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
            params, body = self._sign(xml, timestamp, nonce)
            try:
                resp = self.http.post(self.webhook_url, params=params, data=body.encode("utf-8"),
                                      headers={"Content-Type": "text/xml"},
                                      timeout=self.reply_timeout)
            except requests.RequestException as exc:
                detail = f"attempt {attempt}: {type(exc).__name__}"
                continue
            if resp.status_code >= 500:
                detail = f"attempt {attempt}: HTTP {resp.status_code}"
                continue
            if resp.status_code != 200:
                return Outcome(UNAVAILABLE, attempt, "unavailable", f"HTTP {resp.status_code}")
            return self._read(resp.text, attempt, fields)
        return Outcome(UNAVAILABLE, ATTEMPTS, "unavailable", detail)

    def _sign(self, xml: str, timestamp: str, nonce: str) -> tuple[dict, str]:
        params = {"signature": sign(self.token, timestamp, nonce), "timestamp": timestamp,
                  "nonce": nonce, "openid": "sim"}
        if self.mode == "plain" or not self.aes_key:
            return params, xml
        envelope = WeChatCrypto(self.token, self.aes_key, self.appid).encrypt_message(
            xml, nonce, timestamp)
        encrypted = fromstring(envelope).findtext("Encrypt")
        params.update(encrypt_type="aes",
                      msg_signature=sign(self.token, timestamp, nonce, encrypted))
        plain_part = xml[len("<xml>"):-len("</xml>")] if self.mode == "compatible" else \
            f"<ToUserName>{cdata(self.account)}</ToUserName>"
        return params, f"<xml>{plain_part}<Encrypt>{cdata(encrypted)}</Encrypt></xml>"

    def _read(self, text: str, attempt: int, fields: dict) -> Outcome:
        if text.strip() in ("", "success"):
            return Outcome(None, attempt, "empty")
        try:
            root = fromstring(text)
            if root.findtext("Encrypt") is not None:
                root = self._decrypt(root)
            if root.findtext("ToUserName") != fields.get("FromUserName"):
                raise ValueError("reply addressed to someone else")
            if root.findtext("MsgType") != "text":
                return Outcome(f"[{root.findtext('MsgType')}]", attempt, "replied")
            return Outcome(root.findtext("Content") or "", attempt, "replied")
        except Exception as exc:  # noqa: BLE001 - any unreadable reply is what the user sees
            return Outcome(UNAVAILABLE, attempt, "unavailable", f"bad reply: {exc}")

    def _decrypt(self, envelope):
        if not self.aes_key:
            raise ValueError("encrypted reply in plaintext mode")
        encrypted = envelope.findtext("Encrypt")
        parts = (self.token, envelope.findtext("TimeStamp") or "",
                 envelope.findtext("Nonce") or "", encrypted)
        if not hmac.compare_digest(sign(*parts), envelope.findtext("MsgSignature") or ""):
            raise ValueError("reply MsgSignature mismatch")
        key = WeChatCrypto(self.token, self.aes_key, self.appid).key
        return fromstring(PrpCrypto(key).decrypt(encrypted, self.appid))


class Reporter:
    """Pushes TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH back to the webhook, asynchronously."""

    def __init__(self, deliverer_factory, enabled: bool = True):
        self._factory = deliverer_factory
        self.enabled = enabled
        self._queue: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._run, name="sim-reporter", daemon=True).start()

    def template_finished(self, openid: str, msgid: int) -> None:
        if self.enabled:
            self._queue.put({"FromUserName": openid, "CreateTime": int(time.time()),
                             "MsgType": "event", "Event": "TEMPLATESENDJOBFINISH",
                             "MsgID": msgid, "Status": "success"})

    def subscription_sent(self, openid: str, template_id: str, msgid: int) -> None:
        if self.enabled:
            self._queue.put({"FromUserName": openid, "CreateTime": int(time.time()),
                             "MsgType": "event", "Event": "subscribe_msg_sent_event",
                             "SubscribeMsgSentEvent": [{"TemplateId": template_id, "MsgID": msgid,
                                                        "ErrorCode": 0, "ErrorStatus": "success"}]})

    def mass_finished(self, result: dict) -> None:
        if self.enabled:
            self._queue.put({"FromUserName": "mphelper", "CreateTime": int(time.time()),
                             "MsgType": "event", "Event": "MASSSENDJOBFINISH",
                             "MsgID": result["msg_id"], "Status": "send success",
                             "TotalCount": result["total"], "FilterCount": result["filtered"],
                             "SentCount": result["sent"], "ErrorCount": 0})

    def _run(self) -> None:
        while True:
            fields = self._queue.get()
            try:
                self._factory().deliver(fields)
            except Exception:  # noqa: BLE001 - a report lost is logged, never fatal
                log.exception("delivery report not delivered")
