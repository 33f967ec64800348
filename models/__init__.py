"""Earshot's urgency model: a frozen sentence encoder and small trained heads (the policy on top is
``triage.urgency``).

Importing this package stays cheap (no torch): the web process only needs what the urgency policy
(``triage.urgency``) reads, ``models.signals`` and ``models.language``; workers call
``models.classifier.load_classifier()``.
"""
