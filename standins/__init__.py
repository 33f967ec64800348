"""Local stand-ins for the outside services Earshot talks to (Slack; the platforms it replies on),
for development, tests, benchmarks and fault drills: fakes that speak the real wire format, with
a page to look at and knobs to make them fail. They import neither service/ nor workers/: only
the wire helpers they share with the real integrations (request signing, text limits).
"""
