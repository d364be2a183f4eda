"""Channel-neutral notices: who wants which notice through which channel (e-mail, SMS), the
fan-out of one notice to those channels in the caller's transaction, and the SMS channel
(providers on the official Aliyun and Tencent Cloud SDKs, texts as template parameters, the
daily cap per number). Group robots are configured elsewhere, on the same outbox contract.
"""
