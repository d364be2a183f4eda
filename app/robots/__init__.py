"""Group robots: WeCom (企业微信) and DingTalk (钉钉) group webhooks that post notices to a group.

An administrator pastes a group's webhook per alliance, department or committee; activities and
the monthly theme are posted to the alliance's group, problems assigned to the department's
group. Posts are outbox deliveries (channels "wecom" / "dingtalk") built at send time.
"""
