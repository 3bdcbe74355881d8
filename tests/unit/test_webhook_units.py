"""Webhook signing (checked by the reference `standardwebhooks` verifier), the SSRF address
rules and the retry backoff."""

from __future__ import annotations

import ipaddress
import json
import random
import time
from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from helpline.webhook import signing
from helpline.webhook.delivery import MAX_DELAY_S, backoff
from helpline.webhook.errors import WebhookTargetRefused
from helpline.webhook.targets import _forbidden, check_target

pytestmark = pytest.mark.unit


class TestSigning:
    def test_secret_format(self):
        secret = signing.new_secret()
        assert secret.startswith("whsec_")
        assert secret != signing.new_secret()

    def test_reference_verifier_accepts_our_signature(self):
        secret = signing.new_secret()
        body = json.dumps({"type": "ticket.created", "data": {"id": 1}}).encode()
        headers = signing.headers([secret], "evt_1", int(time.time()), body)
        assert Webhook(secret).verify(body, headers) == {
            "type": "ticket.created",
            "data": {"id": 1},
        }

    def test_both_secrets_verify_during_a_rotation(self):
        old, new = signing.new_secret(), signing.new_secret()
        body = b'{"a":1}'
        headers = signing.headers([new, old], "evt_2", int(time.time()), body)
        assert len(headers["webhook-signature"].split(" ")) == 2
        for secret in (old, new):
            Webhook(secret).verify(body, headers)

    def test_tampered_body_or_other_secret_fails(self):
        secret = signing.new_secret()
        headers = signing.headers([secret], "evt_3", int(time.time()), b'{"a":1}')
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(b'{"a":2}', headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(signing.new_secret()).verify(b'{"a":1}', headers)


class TestTargets:
    @pytest.mark.parametrize(
        "address",
        ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.0.1", "169.254.169.254", "::1",
         "fe80::1", "fd00:ec2::254", "0.0.0.0", "::ffff:127.0.0.1", "224.0.0.1",
         "100.100.100.200", "100.64.0.1", "100.127.255.254", "192.0.0.8", "198.18.0.1",
         "192.0.2.1", "240.0.0.1", "255.255.255.255", "::ffff:100.64.0.1",
         "64:ff9b::a9fe:a9fe", "64:ff9b::a00:1", "2002:a9fe:a9fe::1", "2002:7f00:1::1",
         "fec0::1", "ff02::1", "2001:db8::1"],
    )  # fmt: skip
    def test_non_public_addresses_are_forbidden(self, address: str):
        assert _forbidden(ipaddress.ip_address(address))

    @pytest.mark.parametrize(
        "address", ["93.184.216.34", "2606:4700::1111", "64:ff9b::5db8:d822", "100.128.0.1"]
    )
    def test_public_addresses_are_allowed(self, address: str):
        assert not _forbidden(ipaddress.ip_address(address))

    async def test_literal_private_url_is_refused_and_allow_list_admits(self):
        with pytest.raises(WebhookTargetRefused):
            await check_target("http://127.0.0.1:8080/x", [])
        await check_target("http://127.0.0.1:8080/x", ["127.0.0.1"])
        with pytest.raises(WebhookTargetRefused):
            await check_target("ftp://example.com/x", [])

    @pytest.mark.parametrize(
        "url",
        ["http://2130706433/x", "http://0x7f.1/x", "http://metadata.google.internal/x",
         "http://METADATA.google.internal./x", "http://instance-data/x"],
    )  # fmt: skip
    async def test_disguised_loopback_and_metadata_names_are_refused(self, url: str):
        with pytest.raises(WebhookTargetRefused):
            await check_target(url, [])

    async def test_metadata_is_refused_even_when_allowed(self):
        with pytest.raises(WebhookTargetRefused, match="metadata"):
            await check_target("http://169.254.169.254/latest", ["169.254.169.254"])

    async def test_the_checked_address_is_returned_for_pinning(self):
        async def resolve(host: str, port: int) -> list[str]:
            assert (host, port) == ("hooks.example.test", 8443)
            return ["93.184.216.34", "2606:4700::1111"]

        target = await check_target("https://hooks.example.test:8443/x", [], resolve=resolve)
        assert (target.host, target.address) == ("hooks.example.test", "93.184.216.34")

    async def test_one_private_answer_refuses_the_name(self):
        async def resolve(host: str, port: int) -> list[str]:
            return ["93.184.216.34", "10.0.0.1"]

        with pytest.raises(WebhookTargetRefused, match=r"10\.0\.0\.1"):
            await check_target("https://hooks.example.test/x", [], resolve=resolve)

    async def test_localhost_name_is_refused(self):
        with pytest.raises(WebhookTargetRefused):
            await check_target("http://localhost/x", [])


class TestBackoff:
    def test_grows_exponentially_with_jitter_and_a_cap(self):
        rng = random.Random(7)
        for attempts in range(1, 20):
            delay = backoff(attempts, rng)
            full = min(MAX_DELAY_S, 5 * 2 ** (attempts - 1))
            assert timedelta(seconds=full / 2) <= delay <= timedelta(seconds=full)
        assert backoff(30, rng) <= timedelta(hours=1)
