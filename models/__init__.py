"""Earshot's urgency model: a frozen sentence encoder, small trained heads, the urgency policy.

Importing this package stays cheap (no torch): the web process only needs ``models.urgency``;
workers call ``models.classifier.load_classifier()``.
"""
