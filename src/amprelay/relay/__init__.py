"""The relay runtime: config -> compiled destinations -> durable queue. The server and
`amprelay replay` feed it messages; delivery drains the queue."""
