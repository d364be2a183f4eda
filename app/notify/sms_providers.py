"""SMS providers on their official SDKs: Aliyun (dysmsapi 2017-05-25 `SendSms`) and Tencent Cloud
(sms 2021-01-11 `SendSms`), chosen by SMS_PROVIDER.

A provider sends one templated message to one mainland number and answers with the provider's
own code ("OK" when accepted); it never raises. `SMS_ENDPOINT` (e.g. `http://127.0.0.1:8080`)
replaces the provider's host and protocol: both SDKs take a host and a protocol of their own
(Aliyun's `Config(endpoint, protocol)`, Tencent's `HttpProfile(endpoint, protocol)`), so the
override needs no change to the SDK, and the tests point each SDK at a local HTTP server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

# Codes of our own for answers that are not the provider's.
NETWORK_ERROR = "Linghang.NetworkError"
NOT_CONFIGURED = "Linghang.NotConfigured"


@dataclass(frozen=True)
class ProviderAnswer:
    """What the provider said about one message."""

    code: str
    message: str = ""
    accepted: bool = False


class SmsProvider(Protocol):
    """Sends one approved template to one number."""

    def send(self, mobile: str, template_code: str, variables: list[str], params: Mapping[str, str]) -> ProviderAnswer:
        """Send; `variables` is the template's variable order (Tencent's {1}, {2} …)."""


def _endpoint(config: Mapping[str, Any]) -> tuple[str | None, str]:
    """(host[:port] or None for the provider's own, protocol) from SMS_ENDPOINT."""
    raw = config.get("SMS_ENDPOINT")
    if not raw:
        return None, "https"
    parts = urlsplit(raw if "://" in raw else f"https://{raw}")
    return parts.netloc, parts.scheme or "https"


class AliyunSms:
    """Aliyun SMS through `alibabacloud-dysmsapi20170525`."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        # Third-party SDKs load only when the provider is used (start-up stays light).
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        host, protocol = _endpoint(config)
        self.sign_name = config.get("SMS_SIGN_NAME") or ""
        self.client = Client(
            Config(
                access_key_id=config.get("SMS_ACCESS_KEY_ID") or "",
                access_key_secret=config.get("SMS_ACCESS_KEY_SECRET") or "",
                region_id=config.get("SMS_REGION") or "cn-hangzhou",
                endpoint=host or "dysmsapi.aliyuncs.com",
                protocol=protocol,
                connect_timeout=5000,
                read_timeout=10000,
            )
        )

    def send(self, mobile: str, template_code: str, variables: list[str], params: Mapping[str, str]) -> ProviderAnswer:
        """Call SendSms; business errors come back as HTTP 200 with a Code, others as exceptions."""
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest
        from darabonba.runtime import RuntimeOptions

        request = SendSmsRequest(
            phone_numbers=mobile,
            sign_name=self.sign_name,
            template_code=template_code,
            template_param=json.dumps({name: params[name] for name in variables}, ensure_ascii=False),
        )
        try:
            # No SDK retries: the outbox retries, with its backoff, and counts the attempts.
            response = self.client.send_sms_with_options(request, RuntimeOptions(autoretry=False))
        except Exception as error:  # the SDK raises its own and the HTTP library's errors
            code = getattr(error, "code", None)
            if code and code != "None":
                return ProviderAnswer(str(code), str(getattr(error, "message", "") or error))
            return ProviderAnswer(NETWORK_ERROR, f"{type(error).__name__}: {error}")
        body = response.body
        return ProviderAnswer(str(body.code), str(body.message or ""), accepted=body.code == "OK")


class TencentSms:
    """Tencent Cloud SMS through `tencentcloud-sdk-python-sms` (API 2021-01-11)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        # Third-party SDKs load only when the provider is used (start-up stays light).
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        host, protocol = _endpoint(config)
        http = HttpProfile(protocol=protocol, endpoint=host or "sms.tencentcloudapi.com", reqTimeout=10)
        self.client = sms_client.SmsClient(
            credential.Credential(config.get("SMS_ACCESS_KEY_ID") or "", config.get("SMS_ACCESS_KEY_SECRET") or ""),
            config.get("SMS_REGION") or "ap-guangzhou",
            ClientProfile(httpProfile=http),
        )
        self.sign_name = config.get("SMS_SIGN_NAME") or ""
        self.app_id = str(config.get("SMS_SDK_APP_ID") or "")

    def send(self, mobile: str, template_code: str, variables: list[str], params: Mapping[str, str]) -> ProviderAnswer:
        """Call SendSms; a request-level error raises, a per-number one is in SendStatusSet."""
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )
        from tencentcloud.sms.v20210111 import models

        request = models.SendSmsRequest()
        request.PhoneNumberSet = [f"+86{mobile}"]
        request.SmsSdkAppId = self.app_id
        request.SignName = self.sign_name
        request.TemplateId = template_code
        request.TemplateParamSet = [params[name] for name in variables]
        try:
            response = self.client.SendSms(request)
        except TencentCloudSDKException as error:
            code = error.get_code() or NETWORK_ERROR
            if code in ("ClientNetworkError", "ServerNetworkError"):
                code = NETWORK_ERROR
            return ProviderAnswer(code, str(error.get_message() or ""))
        except Exception as error:  # anything else the HTTP library raises
            return ProviderAnswer(NETWORK_ERROR, f"{type(error).__name__}: {error}")
        statuses = response.SendStatusSet or []
        if not statuses:
            return ProviderAnswer(NETWORK_ERROR, "no SendStatusSet in the answer")
        status = statuses[0]
        return ProviderAnswer(str(status.Code), str(status.Message or ""), accepted=status.Code == "Ok")


class NoSms:
    """SMS_PROVIDER=none: every SMS waits (retried, then given up) until a provider is configured."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config

    def send(self, mobile: str, template_code: str, variables: list[str], params: Mapping[str, str]) -> ProviderAnswer:
        """Refuse: no provider."""
        return ProviderAnswer(NOT_CONFIGURED, "SMS_PROVIDER is none")


PROVIDERS: dict[str, type] = {"aliyun": AliyunSms, "tencent": TencentSms, "none": NoSms}


def make_provider(config: Mapping[str, Any]) -> SmsProvider:
    """The provider SMS_PROVIDER names."""
    return PROVIDERS[str(config.get("SMS_PROVIDER") or "none")](config)
