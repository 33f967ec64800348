"""Earshot's urgency model: a frozen sentence encoder with small trained heads, and the urgency policy.

Importing this package stays cheap (no torch): the web process only needs ``models.urgency``;
workers call ``models.classifier.load_classifier()``.
"""
