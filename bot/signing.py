"""Webhook signatures and safe-mode (AES) envelopes.

Signatures are computed with wechatpy's signer and compared in constant time.
Safe mode tries the current EncodingAESKey, then the previous one, so a key
rotation loses no message in flight.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass

from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.utils import WeChatSigner


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def signature_ok(expected_parts: tuple[str, ...], given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(sign(*expected_parts), given)


class DecryptError(ValueError):
    """No configured key decrypts the message for this AppId."""


@dataclass
class SafeMode:
    """The account's AES keys: `keys[0]` is current, the rest are fallbacks."""

    token: str
    appid: str
    keys: list[str]

    def decrypt(self, encrypted: str) -> tuple[str, str]:
        """Return (plaintext XML, key that worked)."""
        for key in self.keys:
            crypto = WeChatCrypto(self.token, key, self.appid)
            try:
                return PrpCrypto(crypto.key).decrypt(encrypted, self.appid), key
            except InvalidAppIdException:
                continue
            except Exception:  # noqa: BLE001 - a wrong key fails in padding, struct or UTF-8
                continue
        raise DecryptError("message cannot be decrypted with the configured EncodingAESKey")

    def encrypt(self, xml: str, key: str, nonce: str, timestamp: str) -> str:
        """The encrypted reply envelope, signed with msg_signature."""
        return WeChatCrypto(self.token, key, self.appid).encrypt_message(xml, nonce, timestamp)
