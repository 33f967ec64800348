"""The mention intake: a webhook's mentions committed durably, once per (source, id),
before the webhook is answered.

- rows.py: mentions as rows, and the one INSERT (built from the column list) that stores them;
- writer.py: a group's INSERT on a kept driver connection, then the classification request;
- group_commit.py: the in-process writer thread that merges concurrent requests' groups;
- intake.py: a process's writers, and its way to the shared writer;
- wire.py, loop.py, supervisor.py: the shared intake writer process under gunicorn;
- decode_entities.py: a one-off repair of stored X mentions (`python -m ingest decode-x-entities`).
"""
