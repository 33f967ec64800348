"""The urgency tiers, most urgent first: the one list the YAML, the policy, the schema's values,
Slack's menus, the API's filters and the reports all share."""

TIERS = ("critical", "high", "normal", "low")
