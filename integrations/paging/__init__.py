"""Paging on-call people when an escalation level says `page: true`: PagerDuty's Events API v2
(`pagerduty`), a signed outbound webhook for other on-call tools (`webhook`), their settings from
the environment (`config`) and the fan-out over whichever are configured (`pager`)."""
